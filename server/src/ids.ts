import crypto from 'node:crypto';

const CODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789'; // no 0/O, 1/I

/** URL-safe random id (shared RoomId alphabet), 16 characters by default. */
export function newId(length = 16): string {
  return crypto.randomBytes(Math.ceil((length * 3) / 4) + 1).toString('base64url').slice(0, length);
}

/** An 8-character join code of capital letters and digits. */
export function newJoinCode(length = 8): string {
  const bytes = crypto.randomBytes(length);
  let code = '';
  for (const b of bytes) code += CODE_ALPHABET[b % CODE_ALPHABET.length];
  return code;
}
