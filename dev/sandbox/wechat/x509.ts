// A self-signed X.509 v3 certificate in DER, built with node:crypto alone: the sandbox's WeChat Pay
// platform certificate. (@peculiar/x509 needs a global Reflect-metadata polyfill the project does not
// install, and a certificate is a few nested DER structures.) Shaped like WeChat's: v3, RSA key,
// sha256WithRSAEncryption, basicConstraints and keyUsage extensions, so a parser that extracts the
// SubjectPublicKeyInfo meets the same fields it meets in production.
import { type KeyObject, sign } from "node:crypto";

const OID_SHA256_WITH_RSA = "1.2.840.113549.1.1.11";
const OID_COMMON_NAME = "2.5.4.3";
const OID_ORGANIZATION = "2.5.4.10";
const OID_COUNTRY = "2.5.4.6";
const OID_BASIC_CONSTRAINTS = "2.5.29.19";
const OID_KEY_USAGE = "2.5.29.15";
/** digitalSignature + keyEncipherment, 5 unused bits */
const KEY_USAGE_BITS = [0x05, 0xa0];
const UTC_TIME_YEAR_END = 2050;

function tlv(tag: number, content: Uint8Array): Buffer {
  const length = content.length;
  if (length < 0x80) return Buffer.concat([Buffer.from([tag, length]), content]);
  const lengthBytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) lengthBytes.unshift(rest % 256);
  return Buffer.concat([Buffer.from([tag, 0x80 | lengthBytes.length, ...lengthBytes]), content]);
}

const sequence = (...items: Uint8Array[]) => tlv(0x30, Buffer.concat(items));
const set = (...items: Uint8Array[]) => tlv(0x31, Buffer.concat(items));
const explicit = (tagNumber: number, item: Uint8Array) => tlv(0xa0 | tagNumber, item);
const derNull = () => Buffer.from([0x05, 0x00]);
const utf8 = (text: string) => tlv(0x0c, Buffer.from(text, "utf8"));
const printable = (text: string) => tlv(0x13, Buffer.from(text, "ascii"));
const octets = (content: Uint8Array) => tlv(0x04, content);
const bitString = (content: Uint8Array) => tlv(0x03, Buffer.concat([Buffer.from([0]), content]));
const boolean = (value: boolean) => Buffer.from([0x01, 0x01, value ? 0xff : 0x00]);

/** Unsigned big-endian integer; a leading 0x00 keeps it positive when the top bit is set. */
function integer(bytes: Uint8Array): Buffer {
  const body = bytes[0] !== undefined && bytes[0] >= 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes;
  return tlv(0x02, body);
}

function oid(dotted: string): Buffer {
  const [first = 0, second = 0, ...rest] = dotted.split(".").map(Number);
  const bytes = [first * 40 + second];
  for (const arc of rest) {
    const base128 = [arc % 128];
    for (let value = Math.floor(arc / 128); value > 0; value = Math.floor(value / 128))
      base128.unshift(0x80 | (value % 128));
    bytes.push(...base128);
  }
  return tlv(0x06, Buffer.from(bytes));
}

function time(date: Date): Buffer {
  const iso = date.toISOString().replace(/[-:T]/g, "").slice(0, 14);
  return date.getUTCFullYear() < UTC_TIME_YEAR_END
    ? tlv(0x17, Buffer.from(`${iso.slice(2)}Z`, "ascii"))
    : tlv(0x18, Buffer.from(`${iso}Z`, "ascii"));
}

export interface CertificateName {
  commonName: string;
  organization: string;
  country: string;
}

function name(subject: CertificateName): Buffer {
  return sequence(
    set(sequence(oid(OID_COUNTRY), printable(subject.country))),
    set(sequence(oid(OID_ORGANIZATION), utf8(subject.organization))),
    set(sequence(oid(OID_COMMON_NAME), utf8(subject.commonName))),
  );
}

function extensions(): Buffer {
  return explicit(
    3,
    sequence(
      sequence(oid(OID_BASIC_CONSTRAINTS), boolean(true), octets(sequence())),
      sequence(oid(OID_KEY_USAGE), boolean(true), octets(tlv(0x03, Buffer.from(KEY_USAGE_BITS)))),
    ),
  );
}

export interface SelfSignedInput {
  serialHex: string;
  subject: CertificateName;
  notBefore: Date;
  notAfter: Date;
  publicKey: KeyObject;
  privateKey: KeyObject;
}

/** DER bytes of a self-signed RSA certificate. */
export function selfSignedCertificate(input: SelfSignedInput): Buffer {
  const algorithm = sequence(oid(OID_SHA256_WITH_RSA), derNull());
  const tbs = sequence(
    explicit(0, integer(Buffer.from([2]))),
    integer(Buffer.from(input.serialHex, "hex")),
    algorithm,
    name(input.subject),
    sequence(time(input.notBefore), time(input.notAfter)),
    name(input.subject),
    input.publicKey.export({ type: "spki", format: "der" }),
    extensions(),
  );
  return sequence(tbs, algorithm, bitString(sign("sha256", tbs, input.privateKey)));
}

export function certificatePem(der: Uint8Array): string {
  const lines =
    Buffer.from(der)
      .toString("base64")
      .match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join("\n")}\n-----END CERTIFICATE-----\n`;
}
