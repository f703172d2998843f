// One line per step, with how long it took: the CLI prints them, tests collect timings.
export type Logger = (line: string) => void;

export const silent: Logger = () => undefined;

export async function step<T>(log: Logger, label: string, fn: () => Promise<T>): Promise<T> {
  const start = Date.now();
  const value = await fn();
  log(`${label} (${((Date.now() - start) / 1000).toFixed(2)} s)`);
  return value;
}
