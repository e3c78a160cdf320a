/**
 * A download's filename from the room's name: lower-case ASCII words joined by '-' (accents
 * folded, everything else dropped), at most 60 characters; 'room' when nothing is left.
 */
export function slugify(name: string): string {
  const slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60)
    .replace(/-+$/, '');
  return slug || 'room';
}

/** `attachment; filename="…"` for a slug and extension (the slug is plain ASCII, nothing to quote). */
export function attachment(roomName: string, suffix: string, ext: string): string {
  return `attachment; filename="${slugify(roomName)}${suffix}.${ext}"`;
}
