import { createPublicKey, diffieHellman, generateKeyPairSync } from 'node:crypto';
import { hsalsa, xsalsa20poly1305 } from '@noble/ciphers/salsa.js';
import { blake2b } from '@noble/hashes/blake2.js';

/** "expand 32-byte k", the Salsa20 constant, as little-endian words. */
const SIGMA = new Uint32Array([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]);

/** Little-endian 32-bit words of a byte array (whatever the host's byte order). */
function words(bytes: Uint8Array): Uint32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Uint32Array.from({ length: bytes.length / 4 }, (_, i) => view.getUint32(i * 4, true));
}

function bytesOf(input: Uint32Array): Uint8Array {
  const out = new Uint8Array(input.length * 4);
  const view = new DataView(out.buffer);
  for (const [i, word] of input.entries()) view.setUint32(i * 4, word, true);
  return out;
}

/**
 * libsodium's crypto_box_seal: a fresh X25519 key pair per message (node:crypto); the shared key is
 * NaCl's crypto_box_beforenm (HSalsa20 of the X25519 secret); the nonce is BLAKE2b-192(ephemeral
 * public key || recipient public key); the box is XSalsa20-Poly1305 (@noble/ciphers); the output is
 * the ephemeral public key followed by the box. GitHub opens it with crypto_box_seal_open. About
 * 18 KB bundled, against 434 KB for libsodium-wrappers (and 41 KB for tweetnacl, which can't be
 * tree-shaken).
 */
export function sealedBox(message: Uint8Array, recipientPublicKey: Uint8Array): Uint8Array {
  if (recipientPublicKey.length !== 32) throw new Error('a sealed box needs a 32-byte public key');
  const ephemeral = generateKeyPairSync('x25519');
  const jwk = ephemeral.publicKey.export({ format: 'jwk' });
  const epk = new Uint8Array(Buffer.from(jwk.x ?? '', 'base64url'));
  const recipient = createPublicKey({
    key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(recipientPublicKey).toString('base64url') },
    format: 'jwk',
  });
  const shared = new Uint8Array(diffieHellman({ privateKey: ephemeral.privateKey, publicKey: recipient }));
  const key = new Uint32Array(8);
  hsalsa(SIGMA, words(shared), new Uint32Array(4), key);
  shared.fill(0);
  const input = new Uint8Array(64);
  input.set(epk);
  input.set(recipientPublicKey, 32);
  const nonce = blake2b(input, { dkLen: 24 });
  const box = xsalsa20poly1305(bytesOf(key), nonce).encrypt(message);
  key.fill(0);
  const out = new Uint8Array(32 + box.length);
  out.set(epk);
  out.set(box, 32);
  return out;
}

/** Seals a UTF-8 string for a base64 public key (as GitHub serves it) and returns base64. */
export function sealForGitHub(value: string, publicKeyBase64: string): string {
  const sealed = sealedBox(new TextEncoder().encode(value), Buffer.from(publicKeyBase64, 'base64'));
  return Buffer.from(sealed).toString('base64');
}
