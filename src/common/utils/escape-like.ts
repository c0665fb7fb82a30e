/** Escapes LIKE/ILIKE wildcards (`%`, `_`) and the escape character itself (`\`). */
export function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}
