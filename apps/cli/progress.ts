/** A one-line progress indicator on stderr, only when stderr is a terminal (never pollutes pipes or --json). */
export function progress(
  label: string,
  enabled: boolean,
): { update: (done: number, total: number) => void; done: () => void } {
  const tty = enabled && process.stderr.isTTY === true;
  let shown = false;
  return {
    update(done, total) {
      if (!tty) return;
      shown = true;
      const pct = total > 0 ? Math.floor((done / total) * 100) : 100;
      const width = 30;
      const filled = Math.round((pct / 100) * width);
      process.stderr.write(
        `\r${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total} (${pct}%)`,
      );
    },
    done() {
      if (tty && shown) process.stderr.write('\n');
    },
  };
}
