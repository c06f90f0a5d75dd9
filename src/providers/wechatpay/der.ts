/**
 * Just enough DER to read an X.509 certificate: its serial number and its SubjectPublicKeyInfo.
 * WebCrypto imports SPKI but not certificates, and WeChat platform certificates arrive as X.509 PEM.
 */

interface Element {
  tag: number;
  start: number;
  headerLength: number;
  length: number;
}

function readElement(bytes: Uint8Array, start: number): Element {
  const tag = bytes[start];
  let lengthByte = bytes[start + 1];
  if (tag === undefined || lengthByte === undefined) throw new Error("truncated DER");
  let length = lengthByte;
  let headerLength = 2;
  if (lengthByte & 0x80) {
    const count = lengthByte & 0x7f;
    if (count === 0 || count > 4) throw new Error("unsupported DER length");
    length = 0;
    for (let i = 0; i < count; i++) {
      lengthByte = bytes[start + 2 + i];
      if (lengthByte === undefined) throw new Error("truncated DER");
      length = length * 256 + lengthByte;
    }
    headerLength += count;
  }
  if (start + headerLength + length > bytes.length) throw new Error("truncated DER");
  return { tag, start, headerLength, length };
}

function children(bytes: Uint8Array, parent: Element): Element[] {
  const list: Element[] = [];
  let offset = parent.start + parent.headerLength;
  const end = offset + parent.length;
  while (offset < end) {
    const child = readElement(bytes, offset);
    list.push(child);
    offset = child.start + child.headerLength + child.length;
  }
  return list;
}

const SEQUENCE = 0x30;
const INTEGER = 0x02;
const VERSION_TAG = 0xa0;

export interface CertificateKey {
  /** Upper-case hex without leading zero bytes, as WeChat prints serials. */
  serial: string;
  spki: Uint8Array<ArrayBuffer>;
}

export function readCertificate(der: Uint8Array<ArrayBuffer>): CertificateKey {
  const certificate = readElement(der, 0);
  const tbs = children(der, certificate)[0];
  if (certificate.tag !== SEQUENCE || tbs?.tag !== SEQUENCE) throw new Error("not an X.509 certificate");
  const fields = children(der, tbs);
  const offset = fields[0]?.tag === VERSION_TAG ? 1 : 0;
  const serial = fields[offset];
  const spki = fields[offset + 5];
  if (serial?.tag !== INTEGER || spki?.tag !== SEQUENCE) throw new Error("unexpected certificate layout");
  let serialBytes = der.subarray(
    serial.start + serial.headerLength,
    serial.start + serial.headerLength + serial.length,
  );
  while (serialBytes.length > 1 && serialBytes[0] === 0) serialBytes = serialBytes.subarray(1);
  const hex = Array.from(serialBytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return {
    serial: hex.toUpperCase(),
    spki: der.slice(spki.start, spki.start + spki.headerLength + spki.length),
  };
}

/** Every `-----BEGIN <label>-----` block in a PEM bundle, decoded. */
export function pemBlocks(pem: string, label: string): Uint8Array<ArrayBuffer>[] {
  const pattern = new RegExp(`-----BEGIN ${label}-----([\\s\\S]*?)-----END ${label}-----`, "g");
  return [...pem.matchAll(pattern)].map((match) => base64ToBytes((match[1] ?? "").replace(/\s+/g, "")));
}

export function base64ToBytes(base64: string): Uint8Array<ArrayBuffer> {
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export function bytesToBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}
