/** Escapes % and _ so user text is matched literally inside ILIKE '%...%'. */
export function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}
