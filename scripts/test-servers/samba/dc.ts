/**
 * The shared throwaway Samba AD DC on loopback (see src/testing/samba.ts).
 *
 *   node scripts/test-servers/samba/dc.ts start    start it (or reuse the running one) and keep it up until `stop`
 *   node scripts/test-servers/samba/dc.ts status   print the connection details of the running DC as JSON
 *   node scripts/test-servers/samba/dc.ts stop     stop it, whoever uses it
 *
 * `watchdog` is internal: the detached process that stops the DC when the last test run using it has ended.
 */
import {
  SAMBA_INSTALL_HINT,
  runningSambaDc,
  sambaDc,
  sambaMissing,
  stopSambaDc,
  watchdog,
} from '../../../src/testing/samba.ts';

async function main(command: string | undefined): Promise<number> {
  switch (command) {
    case 'start': {
      const missing = sambaMissing();
      if (missing) {
        console.error(missing);
        return 1;
      }
      const dc = await sambaDc({ owner: 'manual' });
      console.log(JSON.stringify({ ...dc, ca: undefined }, null, 2));
      return 0;
    }
    case 'status': {
      const dc = runningSambaDc();
      if (!dc) {
        console.error('no Samba DC is running');
        return 1;
      }
      console.log(JSON.stringify({ ...dc, ca: undefined }, null, 2));
      return 0;
    }
    case 'stop':
      await stopSambaDc();
      return 0;
    case 'watchdog':
      await watchdog();
      return 0;
    default:
      console.error(
        `usage: node scripts/test-servers/samba/dc.ts start|status|stop\n(${SAMBA_INSTALL_HINT})`,
      );
      return 2;
  }
}

main(process.argv[2]).then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  },
);
