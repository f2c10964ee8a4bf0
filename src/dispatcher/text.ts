// What a receiver sends back is stored as text in PostgreSQL, which refuses NUL and invalid UTF-8
// (SQLSTATE 22021) for the whole statement, i.e. for every outcome written beside it. Anything
// from a receiver passes through here before it can reach a row.

/** Bytes or text → valid UTF-8 text without NUL, at most `maxBytes` of UTF-8, never cut inside a character. */
export function storableText(input: Uint8Array | string, maxBytes: number): string {
  // Encoding a JS string writes U+FFFD for an unpaired surrogate.
  let bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (bytes.byteLength > maxBytes) bytes = bytes.subarray(0, utf8Boundary(bytes, maxBytes));
  // Invalid sequences decode to U+FFFD; NUL is valid UTF-8 that PostgreSQL text cannot hold.
  const text = bytes.toString('utf8').replaceAll('\u0000', '\uFFFD');
  // U+FFFD takes 3 bytes where a NUL or a bad byte took 1: cut again (rare, hence the second pass).
  return Buffer.byteLength(text) > maxBytes ? storableText(text, maxBytes) : text;
}

/** The largest cut ≤ `max` that does not split a multi-byte character (a truncated tail is dropped). */
function utf8Boundary(bytes: Buffer, max: number): number {
  let end = max;
  // Step back over continuation bytes (10xxxxxx) to the lead byte of the character at the cut.
  while (end > 0 && end > max - 4 && (bytes[end]! & 0xc0) === 0x80) end--;
  return end;
}
