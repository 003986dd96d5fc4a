/**
 * `--name N` pairs of positive integers over `defaults`; anything else throws the usage line.
 */
export function positiveIntArgs<K extends string>(
  argv: string[],
  defaults: Record<K, number>,
  usage: string,
): Record<K, number> {
  const args = { ...defaults };
  for (let k = 0; k < argv.length; k += 2) {
    const name = argv[k].replace(/^--/, '') as K;
    const value = Number(argv[k + 1]);
    if (
      !argv[k].startsWith('--') ||
      !(name in defaults) ||
      !Number.isInteger(value) ||
      value <= 0
    ) {
      throw new Error(`usage: ${usage} (got ${argv[k]})`);
    }
    args[name] = value;
  }
  return args;
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
