import { createTheme } from '@mantine/core';

/** 900px and below is "tablet": the navbar collapses behind a burger (see Shell). */
export const NAV_BREAKPOINT = 'md';

export const theme = createTheme({
  primaryColor: 'blue',
  defaultRadius: 'md',
  fontFamily:
    'Inter, system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", sans-serif',
  breakpoints: {
    xs: '36em',
    sm: '48em',
    md: '56.3125em', // 901px: the navbar is permanent from here up
    lg: '75em',
    xl: '88em',
  },
  headings: { sizes: { h1: { fontSize: '1.75rem', lineHeight: '1.3' } } },
  components: {
    Table: { defaultProps: { verticalSpacing: 'sm', highlightOnHover: true } },
  },
});
