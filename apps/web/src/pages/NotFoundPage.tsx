import { Link, useLocation } from 'react-router';
import { Button, Code, Text } from '@mantine/core';
import { useSession } from '../session';
import { Page } from '../components/ui';

export default function NotFoundPage() {
  const { session } = useSession();
  const location = useLocation();
  const signedIn = session?.stage === 'full';
  return (
    <Page title="Page not found">
      <Text>
        There is no page at <Code>{location.pathname}</Code>. The link may be old, or the address mistyped.
      </Text>
      <div>
        <Button component={Link} to={signedIn ? '/' : '/login'}>
          {signedIn ? 'Go to the dashboard' : 'Go to sign in'}
        </Button>
      </div>
    </Page>
  );
}
