import { z } from 'zod';

// Characters that let a name hide, impersonate or break other people's screens.
const CONTROL = /[\u0000-\u001F\u007F-\u009F]/u;
const BIDI = /[\u202A-\u202E\u2066-\u2069]/u;
const LONE_SURROGATE = /\p{Cs}/u;
/** What renders as nothing: whitespace, format characters (U+200B–U+200D, U+2060, U+FEFF…), fillers, lone marks. */
const INVISIBLE = /[\p{White_Space}\p{Cf}\p{M}\p{Default_Ignorable_Code_Point}\u2800\u3164\uFFA0]/gu;

/** Why `text` cannot be shown as a name, or null when it can. */
export function nameProblem(text: string): string | null {
  if (LONE_SURROGATE.test(text)) return 'contains an invalid character (lone surrogate)';
  if (CONTROL.test(text)) return 'contains a control character';
  if (BIDI.test(text)) return 'contains a text-direction override';
  if (text.replace(INVISIBLE, '').length === 0) return 'has no visible characters';
  return null;
}

/** How a name looks, for telling whether two names can be mistaken for each other. */
function lookalike(text: string): string {
  return text.normalize('NFKC').replace(INVISIBLE, '').toLowerCase();
}

/**
 * A name people see (display names, room titles): trimmed, `min`–`max` characters, stored in NFC
 * so look-alike spellings compare equal, and refused when it hides or rearranges text, or looks
 * like one of the `reserved` names (the AI collaborator's).
 */
export function visibleName(what: string, max: number, reserved: readonly string[] = []) {
  const taken = new Set(reserved.map(lookalike));
  return z
    .string()
    .trim()
    .min(1, `${what} is required`)
    .max(max, `${what} is at most ${max} characters`)
    .superRefine((value, ctx) => {
      const problem = nameProblem(value);
      if (problem) ctx.addIssue({ code: 'custom', message: `${what} ${problem}` });
      else if (taken.has(lookalike(value))) ctx.addIssue({ code: 'custom', message: `${what} "${value}" is reserved` });
    })
    .transform((value) => value.normalize('NFC'));
}
