/**
 * Bearer-token checks for the model routes. The scheme is matched case-insensitively (RFC 7235 §2.1:
 * `bearer`, `Bearer` and `BEARER` are the same scheme), spaces around and between the parts are allowed, and
 * the token is compared in constant time: both sides are hashed first, so neither the content nor the length
 * of the expected token shows in how long a wrong guess takes to be refused.
 */
import { createHash, timingSafeEqual } from "node:crypto";

// Linear: `\s+` and `\S+` match disjoint characters, so a long header cannot make this backtrack.
const BEARER = /^\s*bearer\s+(\S+)\s*$/i;

/** Checks `Authorization` headers against one token. */
export class BearerAuth {
  private readonly expected: Buffer;

  constructor(token: string) {
    this.expected = digest(token);
  }

  /** True when `header` is `Bearer <the token>` (any case of the scheme, any spacing). */
  accepts(header: string | undefined): boolean {
    const m = header === undefined ? null : BEARER.exec(header);
    // A missing or malformed header still hashes something, so it takes as long as a wrong token.
    return timingSafeEqual(digest(m ? m[1]! : ""), this.expected) && m !== null;
  }
}

function digest(s: string): Buffer {
  return createHash("sha256").update(s).digest();
}
