// Verifies a citizen card credential in the browser.
//
// This is the browser twin of verify/credential.py and verify/status.py; the byte format
// is specified in docs/architecture.md. It has no DOM code so /v, /scan and the benchmark
// share it. The result has the same shape as the JSON of POST /api/v1/verify:
// {valid, reason, name, latin_name, card_number, issued_at, expires_at, issuer, issuer_id,
// status_checked_at, status_age_seconds}, plus `source` ("browser" | "server") and
// `keysFetchedAt` (when the keys were fetched, in milliseconds; browser checks only).
//
// The same rule as verify/credential.py: valid only when the signature, the dates and a
// status list at most `statusMaxAge` seconds old (and not past its exp) agree; a list of
// any age still proves a revocation; no list, or only an older one, gives
// "status_unknown" (cannot confirm).

export const REASONS = Object.freeze([
  "ok",
  "bad_signature",
  "unknown_key",
  "key_revoked",
  "expired",
  "not_yet_valid",
  "revoked",
  "suspended",
  "malformed",
  "unknown_issuer",
  "status_unknown",
]);

/** Default freshness window, as verify.credential.STATUS_MAX_AGE_SECONDS. */
export const STATUS_MAX_AGE_SECONDS = 86400;

const ALG_EDDSA = -8;
const KID_BYTES = 6;
const LIST_SIZE = 131072;
const LIST_BYTES = LIST_SIZE / 4;
const CLOCK_SKEW_SECONDS = 300;
const CLAIM_ISS = 1;
const CLAIM_SUB = 2;
const CLAIM_EXP = 4;
const CLAIM_NBF = 5;
const CLAIM_IAT = 6;
const CLAIM_CTI = 7;
const CLAIM_NAME = "n";
const CLAIM_STATUS = "s";
const CLAIM_LATIN_NAME = "l";
const CLAIM_TTL = 65534;
const CLAIM_STATUS_LIST = 65533;
const STATUS_LIST_TYPE = "application/statuslist+cwt";
const STATUS_VALID = 0;
const STATUS_REVOKED = 1;
const STATUS_SUSPENDED = 2;
// Limits of verify/credential.py and verify/status.py.
const MAX_TEXT_CHARS = 2048;
const MAX_TOKEN_BYTES = 1024;
const MAX_STATUS_LIST_BYTES = 2 * LIST_BYTES;

/** Raised for any structural problem; always maps to the reason "malformed". */
export class MalformedError extends Error {}

// ---------------------------------------------------------------- text and base32

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const BASE32_VALUE = new Map([...BASE32].map((symbol, value) => [symbol, value]));

/**
 * RFC 4648 base32, upper case, no padding, canonical (unused trailing bits zero), as
 * verify.credential.token_bytes: two texts must never read as one token.
 */
export function base32Decode(text) {
  const remainder = text.length % 8;
  // Lengths 1, 3 and 6 (mod 8) cannot come from whole bytes.
  if (remainder === 1 || remainder === 3 || remainder === 6) {
    throw new MalformedError("base32 length");
  }
  const out = new Uint8Array(Math.floor((text.length * 5) / 8));
  let buffer = 0;
  let bits = 0;
  let index = 0;
  for (const symbol of text) {
    const value = BASE32_VALUE.get(symbol);
    if (value === undefined) throw new MalformedError("base32 symbol");
    buffer = ((buffer << 5) | value) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[index++] = (buffer >> bits) & 0xff;
    }
  }
  if (bits > 0 && (buffer & ((1 << bits) - 1)) !== 0) {
    throw new MalformedError("base32 trailing bits");
  }
  return out;
}

const QR_PREFIX = /^(https?:\/\/[a-z0-9.-]+(?::[0-9]{1,5})?)\/v$/i;

function normalizeBase(url) {
  const match = /^(https?):\/\/([a-z0-9.-]+(?::[0-9]{1,5})?)\/?$/i.exec(url);
  if (!match) throw new MalformedError("expected base");
  return `${match[1]}://${match[2]}`.toLowerCase();
}

/**
 * Returns the token from scanned text: `<BASE>/V#<TOKEN>` (scheme and host in any case,
 * /V or /v, no path) or a bare token, as verify.credential.extract_token. With
 * `expectedBase`, a URL of another site is refused (reason "malformed", as on the server).
 */
export function extractToken(text, expectedBase = null) {
  if (typeof text !== "string" || text.length > MAX_TEXT_CHARS) throw new MalformedError("text");
  const trimmed = text.trim();
  const hash = trimmed.indexOf("#");
  let token = trimmed;
  if (hash >= 0) {
    const match = QR_PREFIX.exec(trimmed.slice(0, hash));
    if (!match) throw new MalformedError("not a verify URL");
    if (expectedBase !== null && match[1].toLowerCase() !== normalizeBase(expectedBase)) {
      throw new MalformedError("verify URL of another site");
    }
    token = trimmed.slice(hash + 1);
  }
  if (token.length === 0 || token.length > Math.floor((MAX_TOKEN_BYTES * 8 + 4) / 5)) {
    throw new MalformedError("token length");
  }
  return token;
}

// ---------------------------------------------------------------- strict CBOR reader

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Decodes one CBOR item that must span all of `bytes`, as strictly as verify/_cbor.py:
 * deterministic encoding only (shortest heads, map keys sorted bytewise and unique),
 * integers, byte and text strings, arrays and maps with int or text keys. No tags (the
 * caller strips the one tag it expects), floats, simple values or indefinite lengths.
 * Maps become Map objects so integer keys keep their type.
 */
export function cborDecode(bytes) {
  const reader = new CborReader(bytes);
  const item = reader.item(0);
  if (reader.offset !== bytes.length) throw new MalformedError("cbor trailing bytes");
  return item;
}

const MAX_DEPTH = 8;

function compareBytes(a, b) {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    if (a[i] !== b[i]) return a[i] - b[i];
  }
  return a.length - b.length;
}

class CborReader {
  constructor(bytes) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.offset = 0;
  }

  need(count) {
    if (this.offset + count > this.bytes.length) throw new MalformedError("cbor truncated");
  }

  argument(info) {
    if (info < 24) return info;
    if (info > 27) throw new MalformedError("cbor indefinite or reserved");
    const size = 1 << (info - 24);
    this.need(size);
    let value;
    if (size === 1) value = this.view.getUint8(this.offset);
    else if (size === 2) value = this.view.getUint16(this.offset);
    else if (size === 4) value = this.view.getUint32(this.offset);
    else {
      const big = this.view.getBigUint64(this.offset);
      if (big < 2n ** 32n) throw new MalformedError("cbor not shortest form");
      if (big > BigInt(Number.MAX_SAFE_INTEGER)) throw new MalformedError("cbor integer size");
      value = Number(big);
    }
    const smallest = size === 1 ? 24 : size === 2 ? 0x100 : 0x10000;
    if (size !== 8 && value < smallest) throw new MalformedError("cbor not shortest form");
    this.offset += size;
    return value;
  }

  item(depth) {
    if (depth > MAX_DEPTH) throw new MalformedError("cbor nesting");
    this.need(1);
    const initial = this.bytes[this.offset++];
    const major = initial >> 5;
    const argument = this.argument(initial & 0x1f);
    switch (major) {
      case 0:
        return argument;
      case 1:
        return -1 - argument;
      case 2: {
        this.need(argument);
        const out = this.bytes.slice(this.offset, this.offset + argument);
        this.offset += argument;
        return out;
      }
      case 3: {
        this.need(argument);
        const raw = this.bytes.subarray(this.offset, this.offset + argument);
        this.offset += argument;
        try {
          return utf8.decode(raw);
        } catch {
          throw new MalformedError("cbor utf-8");
        }
      }
      case 4: {
        // Every item takes at least one byte, so a longer count is a lie.
        if (argument > this.bytes.length - this.offset) throw new MalformedError("cbor array");
        const out = [];
        for (let i = 0; i < argument; i++) out.push(this.item(depth + 1));
        return out;
      }
      case 5: {
        if (argument > this.bytes.length - this.offset) throw new MalformedError("cbor map");
        const out = new Map();
        let previous = new Uint8Array(0);
        for (let i = 0; i < argument; i++) {
          const keyStart = this.offset;
          const key = this.item(depth + 1);
          if (typeof key !== "number" && typeof key !== "string") {
            throw new MalformedError("cbor map key type");
          }
          const encoded = this.bytes.subarray(keyStart, this.offset);
          if (compareBytes(encoded, previous) <= 0 && i > 0) {
            throw new MalformedError("cbor map keys duplicate or unsorted");
          }
          previous = encoded;
          out.set(key, this.item(depth + 1));
        }
        return out;
      }
      case 6:
        throw new MalformedError("cbor unexpected tag");
      default:
        throw new MalformedError("cbor float or simple value");
    }
  }
}

function cborHead(major, length) {
  if (length < 24) return [(major << 5) | length];
  if (length < 0x100) return [(major << 5) | 24, length];
  if (length < 0x10000) return [(major << 5) | 25, length >> 8, length & 0xff];
  return [(major << 5) | 26, (length >>> 24) & 0xff, (length >> 16) & 0xff, (length >> 8) & 0xff, length & 0xff];
}

/** COSE Sig_structure for COSE_Sign1 with empty external AAD (RFC 9052 §4.4). */
export function sigStructure(protectedBytes, payload) {
  const context = new TextEncoder().encode("Signature1");
  const parts = [
    Uint8Array.of(0x84),
    Uint8Array.from(cborHead(3, context.length)),
    context,
    Uint8Array.from(cborHead(2, protectedBytes.length)),
    protectedBytes,
    Uint8Array.of(0x40),
    Uint8Array.from(cborHead(2, payload.length)),
    payload,
  ];
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

// ---------------------------------------------------------------- COSE_Sign1

function isUint(value) {
  return Number.isSafeInteger(value) && value >= 0;
}

/**
 * Splits tagged COSE_Sign1 bytes into parts and checks the headers are exactly
 * {1: -8, 4: kid} (plus {16: typ} when `typ` is given), as sign1_decode and
 * check_eddsa_headers in verify/credential.py. The signature is not checked here.
 */
export function parseSign1(bytes, { typ = null, maxBytes = MAX_TOKEN_BYTES } = {}) {
  if (bytes.length > maxBytes) throw new MalformedError("too large");
  // 0xD2 is the only (shortest) encoding of tag 18.
  if (bytes[0] !== 0xd2) throw new MalformedError("not a tagged COSE_Sign1");
  const parts = cborDecode(bytes.subarray(1));
  if (!Array.isArray(parts) || parts.length !== 4) throw new MalformedError("COSE array");
  const [protectedBytes, unprotected, payload, signature] = parts;
  if (!(protectedBytes instanceof Uint8Array)) throw new MalformedError("protected bstr");
  if (!(unprotected instanceof Map)) throw new MalformedError("unprotected map");
  if (!(payload instanceof Uint8Array) || !(signature instanceof Uint8Array)) {
    throw new MalformedError("payload or signature bstr");
  }
  const header = protectedBytes.length ? cborDecode(protectedBytes) : new Map();
  if (!(header instanceof Map)) throw new MalformedError("protected header");
  if (unprotected.size !== 0) throw new MalformedError("unprotected header not empty");
  const expected = typ === null ? [1, 4] : [1, 4, 16];
  if (header.size !== expected.length || !expected.every((label) => header.has(label))) {
    throw new MalformedError("protected header labels"); // includes crit (2)
  }
  if (header.get(1) !== ALG_EDDSA) throw new MalformedError("alg");
  if (typ !== null && header.get(16) !== typ) throw new MalformedError("typ");
  const kid = header.get(4);
  if (!(kid instanceof Uint8Array) || kid.length !== KID_BYTES) throw new MalformedError("kid");
  return { protectedBytes, payload, signature, kid };
}

// ---------------------------------------------------------------- card claims

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

// GF(32) with x^5 + x^2 + 1, as in verify/cardnumber.py.
const GF_EXP = [];
const GF_LOG = new Array(32).fill(0);
{
  let value = 1;
  for (let power = 0; power < 31; power++) {
    GF_EXP[power] = value;
    GF_LOG[value] = power;
    value <<= 1;
    if (value & 0b100000) value ^= 0b100101;
  }
  for (let power = 31; power < 62; power++) GF_EXP[power] = GF_EXP[power - 31];
}

function gfMul(a, b) {
  return a === 0 || b === 0 ? 0 : GF_EXP[GF_LOG[a] + GF_LOG[b]];
}

/** The printed card number `XXXX-XXXX-XXXX` from the 8-byte cti; checks the check symbol. */
export function cardNumberFromCti(cti) {
  if (!(cti instanceof Uint8Array) || cti.length !== 8) throw new MalformedError("cti");
  let value = 0n;
  for (const byte of cti) value = (value << 8n) | BigInt(byte);
  if (value >> 60n) throw new MalformedError("cti bits");
  const values = [];
  for (let shift = 11; shift >= 0; shift--) values.push(Number((value >> BigInt(5 * shift)) & 31n));
  let syndrome = 0;
  values.forEach((symbol, position) => {
    syndrome ^= gfMul(GF_EXP[position + 1], symbol);
  });
  if (syndrome !== 0) throw new MalformedError("card number check symbol");
  const symbols = values.map((symbol) => CROCKFORD[symbol]).join("");
  return `${symbols.slice(0, 4)}-${symbols.slice(4, 8)}-${symbols.slice(8, 12)}`;
}

const REQUIRED_CLAIMS = [CLAIM_ISS, CLAIM_IAT, CLAIM_EXP, CLAIM_CTI, CLAIM_NAME, CLAIM_STATUS];
// Layout 2 (see verify/credential.py): layout 1's optional nbf, and the Latin form.
const OPTIONAL_CLAIMS = [CLAIM_NBF, CLAIM_LATIN_NAME];
const MAX_NAME_CHARS = 80;

function codePoints(text) {
  return [...text].length;
}

/** Checks claim keys and values as verify.credential._claims_from_map; returns plain values. */
export function readCardClaims(claims) {
  if (!(claims instanceof Map)) throw new MalformedError("claims map");
  if (!REQUIRED_CLAIMS.every((key) => claims.has(key))) throw new MalformedError("missing claim");
  for (const key of claims.keys()) {
    if (!REQUIRED_CLAIMS.includes(key) && !OPTIONAL_CLAIMS.includes(key)) {
      throw new MalformedError("unexpected claim");
    }
  }
  const iss = claims.get(CLAIM_ISS);
  const iat = claims.get(CLAIM_IAT);
  const exp = claims.get(CLAIM_EXP);
  const nbf = claims.has(CLAIM_NBF) ? claims.get(CLAIM_NBF) : null;
  const name = claims.get(CLAIM_NAME);
  const latinName = claims.has(CLAIM_LATIN_NAME) ? claims.get(CLAIM_LATIN_NAME) : null;
  const status = claims.get(CLAIM_STATUS);
  if (!(claims.get(CLAIM_CTI) instanceof Uint8Array)) throw new MalformedError("cti");
  if (!Array.isArray(status) || status.length !== 2) throw new MalformedError("status reference");
  if (typeof iss !== "string" || typeof name !== "string") throw new MalformedError("iss or name");
  if (latinName !== null && typeof latinName !== "string") throw new MalformedError("latin form");
  const [listId, index] = status;
  if (!isUint(iat) || !isUint(exp) || !isUint(listId) || !isUint(index)) {
    throw new MalformedError("unsigned integers");
  }
  if (nbf !== null && !isUint(nbf)) throw new MalformedError("nbf");
  const cardNumber = cardNumberFromCti(claims.get(CLAIM_CTI));
  if (codePoints(iss) < 1 || codePoints(iss) > 16) throw new MalformedError("iss length");
  for (const text of latinName === null ? [name] : [name, latinName]) {
    if (codePoints(text) < 1 || codePoints(text) > MAX_NAME_CHARS) throw new MalformedError("name length");
  }
  if (index >= LIST_SIZE) throw new MalformedError("status index");
  return { iss, iat, exp, nbf, name, latinName, cardNumber, listId, index };
}

// ---------------------------------------------------------------- keys and Ed25519

function base64urlDecode(text) {
  if (typeof text !== "string" || !/^[A-Za-z0-9_-]*$/.test(text)) {
    throw new MalformedError("base64url");
  }
  const padded = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

function sameBytes(a, b) {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

let ed25519Support = null;

/** Whether WebCrypto does Ed25519 here (Chrome 137+, Firefox 129+, Safari 17+). */
export async function hasEd25519() {
  if (ed25519Support === null) {
    ed25519Support = (async () => {
      try {
        if (!globalThis.crypto || !crypto.subtle) return false;
        await crypto.subtle.importKey("raw", new Uint8Array(32).fill(1), { name: "Ed25519" }, false, ["verify"]);
        return true;
      } catch {
        return false;
      }
    })();
  }
  return ed25519Support;
}

/** Parses a JWKS document into {keys: [{kid, x, status}], revokedKids, iss} (bytes as Uint8Array). */
export function parseJwks(jwks) {
  const keys = [];
  for (const jwk of Array.isArray(jwks?.keys) ? jwks.keys : []) {
    if (jwk?.kty !== "OKP" || jwk?.crv !== "Ed25519" || typeof jwk?.kid !== "string") continue;
    try {
      const x = base64urlDecode(jwk.x);
      if (x.length !== 32) continue;
      keys.push({ kid: base64urlDecode(jwk.kid), x, status: jwk.status ?? "active", cryptoKey: null });
    } catch {
      // One broken entry must not hide the others.
    }
  }
  const revokedKids = [];
  for (const kid of Array.isArray(jwks?.revoked_kids) ? jwks.revoked_kids : []) {
    try {
      revokedKids.push(base64urlDecode(kid));
    } catch {
      // ignored for the same reason
    }
  }
  return { keys, revokedKids, iss: typeof jwks?.iss === "string" ? jwks.iss : null };
}

async function ed25519Verify(key, signature, data) {
  if (!key.cryptoKey) {
    key.cryptoKey = await crypto.subtle.importKey("raw", key.x, { name: "Ed25519" }, false, ["verify"]);
  }
  return crypto.subtle.verify({ name: "Ed25519" }, key.cryptoKey, signature, data);
}

// ---------------------------------------------------------------- status lists

async function inflate(bytes) {
  let stream;
  try {
    stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
  } catch {
    throw new MalformedError("no DecompressionStream");
  }
  const reader = stream.getReader();
  const out = new Uint8Array(LIST_BYTES);
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      // Bounded: a small hostile input must not expand into the phone's whole memory.
      if (total + value.length > LIST_BYTES) {
        await reader.cancel();
        throw new MalformedError("lst too long");
      }
      out.set(value, total);
      total += value.length;
    }
  } catch (error) {
    if (error instanceof MalformedError) throw error;
    throw new MalformedError("lst is not zlib data");
  }
  if (total !== LIST_BYTES) throw new MalformedError("lst length");
  return out;
}

const STATUS_LIST_CLAIMS = [CLAIM_SUB, CLAIM_IAT, CLAIM_EXP, CLAIM_TTL, CLAIM_STATUS_LIST];

/**
 * Verifies and unpacks a signed status list, as verify.status.decode_status_list with
 * allow_expired: a list past its exp still proves a revocation; whether it is fresh
 * enough to make a card valid is judged by the verifier (statusIsFresh).
 * `issuer` is {verifyUrl, keys, revokedKids}. Returns {entries, iat, exp, ttl}.
 */
export async function readStatusList(bytes, issuer, listId, now) {
  const sign1 = parseSign1(bytes, { typ: STATUS_LIST_TYPE, maxBytes: MAX_STATUS_LIST_BYTES });
  if (issuer.revokedKids.some((kid) => sameBytes(kid, sign1.kid))) throw new MalformedError("key revoked");
  const key = issuer.keys.find((candidate) => sameBytes(candidate.kid, sign1.kid));
  if (!key) throw new MalformedError("unknown key");
  if (!(await ed25519Verify(key, sign1.signature, sigStructure(sign1.protectedBytes, sign1.payload)))) {
    throw new MalformedError("bad signature");
  }
  const claims = cborDecode(sign1.payload);
  if (!(claims instanceof Map) || claims.size !== 5 || !STATUS_LIST_CLAIMS.every((key) => claims.has(key))) {
    throw new MalformedError("status list claims");
  }
  const [sub, iat, exp, ttl, list] = STATUS_LIST_CLAIMS.map((label) => claims.get(label));
  if (typeof sub !== "string" || !isUint(iat) || !isUint(exp) || !isUint(ttl)) {
    throw new MalformedError("status list claim types");
  }
  // The list must be the one asked for, at the issuer's own address.
  if (sub !== `${issuer.verifyUrl}/status/${listId}`) throw new MalformedError("status list uri");
  if (!(list instanceof Map) || list.size !== 2 || list.get("bits") !== 2 || !(list.get("lst") instanceof Uint8Array)) {
    throw new MalformedError("status_list claim");
  }
  if (iat > now + CLOCK_SKEW_SECONDS) throw new MalformedError("status list not yet valid");
  return { entries: await inflate(list.get("lst")), iat, exp, ttl };
}

/** The 2-bit status of entry `index`: least significant bits first. */
export function statusAt(list, index) {
  return (list.entries[index >> 2] >> (2 * (index & 3))) & 0b11;
}

// ---------------------------------------------------------------- the verifier

function emptyResult(reason) {
  return {
    valid: false,
    reason,
    name: null,
    latin_name: null,
    card_number: null,
    issued_at: null,
    expires_at: null,
    issuer: null,
    issuer_id: null,
    status_checked_at: null,
    status_age_seconds: null,
  };
}

/** Seconds since 1970 to the API's date form, YYYY-MM-DD (UTC). */
function isoDate(seconds) {
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime()) ? null : date.toISOString().slice(0, 10);
}

/** Seconds since 1970 to the API's time form, YYYY-MM-DDTHH:MM:SSZ. */
function isoTime(seconds) {
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime()) ? null : `${date.toISOString().slice(0, 19)}Z`;
}

/** Whether a list can make a card valid: as verify.credential.status_is_fresh. */
export function statusIsFresh(list, now, maxAge = STATUS_MAX_AGE_SECONDS) {
  return now - list.iat <= maxAge && list.exp > now;
}

/** The reason a status entry gives, as verify.credential._status_reason. */
function statusReason(list, index, now, maxAge) {
  const status = statusAt(list, index);
  // The issuer signed that the card was withdrawn: true however old the list is.
  if (status === STATUS_REVOKED) return "revoked";
  if (status === STATUS_SUSPENDED) return "suspended";
  // Value 3 is never set by this format (as the server: "malformed").
  if (status !== STATUS_VALID) return "malformed";
  return statusIsFresh(list, now, maxAge) ? "ok" : "status_unknown";
}

function responseTime(response) {
  const date = Date.parse(response.headers.get("Date") ?? "");
  return Number.isNaN(date) ? null : date;
}

const KEYS_MAX_AGE_MS = 5 * 60_000;
const LIST_REUSE_MS = 30_000;

/**
 * Verifies scanned text against this site's own issuer, fetching its keys and status
 * lists (the service worker answers from its cache when offline). Falls back to
 * POST /api/v1/verify when the browser lacks Ed25519 or DecompressionStream, when the
 * card names another issuer (only the server holds the trust list of other cities),
 * or when no status list can be had (if the server cannot be reached either, the
 * answer is "status_unknown": the card is genuine and in date, its status unknown).
 */
export class Verifier {
  /**
   * @param {object} urls {jwks, status: ".../status/{id}", api}
   * @param {object} [options] {fetch, now: () => seconds, expectedBase, statusMaxAge}
   */
  constructor(urls, options = {}) {
    this.urls = urls;
    this.fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.now = options.now ?? (() => Math.floor(Date.now() / 1000));
    this.expectedBase = options.expectedBase ?? null;
    this.statusMaxAge = options.statusMaxAge ?? STATUS_MAX_AGE_SECONDS;
    this.issuer = null;
    this.keysLoadedAt = 0;
    this.statusLists = new Map();
    this.pendingStatus = new Map();
  }

  /** Loads (or reloads) the issuer's keys; call it ahead of the first scan to save time. */
  async refresh() {
    // no-cache: revalidate (a cheap 304) so a withdrawn key is seen at once.
    const response = await this.fetch(this.urls.jwks, { cache: "no-cache", credentials: "omit" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const jwks = await response.json();
    this.issuer = {
      ...parseJwks(jwks),
      name: typeof jwks.issuer_name === "string" ? jwks.issuer_name : null,
      verifyUrl: typeof jwks.verify_url === "string" ? normalizeBase(jwks.verify_url) : null,
      fetchedAt: responseTime(response) ?? Date.now(),
    };
    this.keysLoadedAt = Date.now();
    this.statusLists.clear();
  }

  /** Forgets the lists held in memory, so the next check fetches them again. */
  forgetStatus() {
    this.statusLists.clear();
  }

  fetchStatusBytes(listId) {
    const url = this.urls.status.replace("{id}", String(listId));
    return this.fetch(url, { cache: "no-cache", credentials: "omit" }).then(async (response) => {
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      return new Uint8Array(await response.arrayBuffer());
    });
  }

  reusable(cached) {
    // Re-used briefly for a queue at a desk (never longer than the list's ttl); short
    // enough that a revocation made while the page stays open shows up.
    return cached && Date.now() - cached.loadedAt < Math.min(LIST_REUSE_MS, cached.list.ttl * 1000);
  }

  /**
   * Starts downloading the status list a token points at, before the keys are in and
   * the signature is checked: the two downloads overlap instead of queueing. Nothing is
   * believed from the unverified token; the whole list is fetched either way.
   */
  prefetchStatus(text) {
    let listId;
    try {
      const claims = cborDecode(parseSign1(base32Decode(extractToken(text, this.expectedBase))).payload);
      listId = claims instanceof Map ? claims.get(CLAIM_STATUS)?.[0] : undefined;
    } catch {
      return;
    }
    if (!isUint(listId) || this.pendingStatus.has(listId)) return;
    if (this.reusable(this.statusLists.get(listId))) return;
    const pending = this.fetchStatusBytes(listId);
    pending.catch(() => {}); // awaited (and reported) later by statusList()
    this.pendingStatus.set(listId, pending);
  }

  async statusList(listId) {
    const cached = this.statusLists.get(listId);
    if (this.reusable(cached)) return cached;
    const pending = this.pendingStatus.get(listId);
    this.pendingStatus.delete(listId);
    const bytes = await (pending ?? this.fetchStatusBytes(listId));
    const list = await readStatusList(bytes, this.issuer, listId, this.now());
    const entry = { list, loadedAt: Date.now() };
    this.statusLists.set(listId, entry);
    return entry;
  }

  async verifyOnServer(text) {
    const response = await this.fetch(this.urls.api, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ qr: text }),
      credentials: "omit",
      cache: "no-store",
    });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const result = await response.json();
    return { ...result, source: "server", keysFetchedAt: null };
  }

  /**
   * Verifies scanned text and returns the verdict. Never throws for a bad card; throws
   * only when neither the browser nor the server can answer (offline, nothing cached).
   */
  async verify(text) {
    if (typeof DecompressionStream !== "function") return this.verifyOnServer(text);
    this.prefetchStatus(text);
    const keys = !this.issuer || Date.now() - this.keysLoadedAt > KEYS_MAX_AGE_MS ? this.refresh() : null;
    keys?.catch(() => {}); // awaited below, after the feature check
    if (!(await hasEd25519())) return this.verifyOnServer(text);
    try {
      await keys;
    } catch {
      // Keys out of reach: go on with those in memory, or else ask the server.
      if (!this.issuer) return this.verifyOnServer(text);
    }
    let result = await this.verifyLocally(text);
    if (result.reason === "unknown_key" && Date.now() - this.keysLoadedAt > 5_000) {
      await this.refresh(); // a key rotated in since the page loaded
      result = await this.verifyLocally(text);
    }
    if (!result.fallback) return result;
    if (!result.unknownStatus) return this.verifyOnServer(text);
    try {
      return await this.verifyOnServer(text);
    } catch {
      return result.unknownStatus; // genuine and in date; its status cannot be had
    }
  }

  async verifyLocally(text) {
    let sign1;
    let claims;
    try {
      sign1 = parseSign1(base32Decode(extractToken(text, this.expectedBase)));
      claims = cborDecode(sign1.payload);
      if (!(claims instanceof Map) || typeof claims.get(CLAIM_ISS) !== "string") {
        throw new MalformedError("iss");
      }
    } catch (error) {
      if (error instanceof MalformedError) return { ...emptyResult("malformed"), source: "browser", keysFetchedAt: null };
      throw error;
    }
    // Another city's card: the server holds the trust list (and says unknown_issuer).
    if (claims.get(CLAIM_ISS) !== this.issuer.iss) return { fallback: true };
    const fail = (reason) => ({ ...emptyResult(reason), source: "browser", keysFetchedAt: null });
    if (this.issuer.revokedKids.some((kid) => sameBytes(kid, sign1.kid))) return fail("key_revoked");
    const key = this.issuer.keys.find((candidate) => sameBytes(candidate.kid, sign1.kid));
    if (!key) return fail("unknown_key");
    const signed = sigStructure(sign1.protectedBytes, sign1.payload);
    if (sign1.signature.length !== 64 || !(await ed25519Verify(key, sign1.signature, signed))) {
      return fail("bad_signature");
    }
    // Claims are believed only now that the signature holds.
    let card;
    try {
      card = readCardClaims(claims);
    } catch (error) {
      if (error instanceof MalformedError) return fail("malformed");
      throw error;
    }
    const now = this.now();
    const result = {
      ...emptyResult("ok"),
      name: card.name,
      latin_name: card.latinName,
      card_number: card.cardNumber,
      issued_at: isoDate(card.iat),
      expires_at: isoDate(card.exp),
      issuer: this.issuer.name,
      issuer_id: card.iss,
      source: "browser",
      keysFetchedAt: this.issuer.fetchedAt,
    };
    if (card.exp <= now) return { ...result, reason: "expired" };
    if (card.iat > now + CLOCK_SKEW_SECONDS || (card.nbf !== null && card.nbf > now + CLOCK_SKEW_SECONDS)) {
      return { ...result, reason: "not_yet_valid" };
    }
    let entry;
    try {
      entry = await this.statusList(card.listId);
    } catch {
      // Offline with no saved list, or a broken list: the server may know better.
      return { fallback: true, unknownStatus: { ...result, reason: "status_unknown" } };
    }
    const reason = statusReason(entry.list, card.index, now, this.statusMaxAge);
    return {
      ...result,
      valid: reason === "ok",
      reason,
      status_checked_at: isoTime(entry.list.iat),
      status_age_seconds: Math.max(0, now - entry.list.iat),
    };
  }
}
