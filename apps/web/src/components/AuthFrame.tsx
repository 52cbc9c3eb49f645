import type { ReactNode } from 'react';
import { Group, Paper, Stack, Text } from '@mantine/core';
import { IconBuildingCastle } from '@tabler/icons-react';

/** The centred card around the sign-in and setup pages. */
export function AuthFrame({ children }: { children: ReactNode }) {
  return (
    <div className="auth-page">
      <Stack w="100%" maw={480} gap="md">
        <Group gap={8} justify="center" aria-hidden>
          <IconBuildingCastle size={28} color="var(--mantine-color-blue-filled)" />
          <Text fw={700} size="xl">
            Gatehouse
          </Text>
        </Group>
        <Paper component="main" id="main" tabIndex={-1} withBorder shadow="sm" p="xl" radius="md">
          {children}
        </Paper>
      </Stack>
    </div>
  );
}
