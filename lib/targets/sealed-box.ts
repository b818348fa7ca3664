import { blake2b } from '@noble/hashes/blake2.js';
import nacl from 'tweetnacl';

/**
 * libsodium's crypto_box_seal, built from tweetnacl (X25519, XSalsa20-Poly1305) and BLAKE2b: a fresh
 * key pair per message; the nonce is BLAKE2b-192(ephemeral public key || recipient public key); the
 * output is the ephemeral public key followed by the box. GitHub decrypts it with
 * crypto_box_seal_open. About 40 KB bundled, against 434 KB for libsodium-wrappers.
 */
export function sealedBox(message: Uint8Array, recipientPublicKey: Uint8Array): Uint8Array {
  if (recipientPublicKey.length !== nacl.box.publicKeyLength)
    throw new Error(`a sealed box needs a ${nacl.box.publicKeyLength}-byte public key`);
  const ephemeral = nacl.box.keyPair();
  const input = new Uint8Array(ephemeral.publicKey.length + recipientPublicKey.length);
  input.set(ephemeral.publicKey);
  input.set(recipientPublicKey, ephemeral.publicKey.length);
  const nonce = blake2b(input, { dkLen: nacl.box.nonceLength });
  const box = nacl.box(message, nonce, recipientPublicKey, ephemeral.secretKey);
  ephemeral.secretKey.fill(0);
  const out = new Uint8Array(ephemeral.publicKey.length + box.length);
  out.set(ephemeral.publicKey);
  out.set(box, ephemeral.publicKey.length);
  return out;
}

/** Seals a UTF-8 string for a base64 public key (as GitHub serves it) and returns base64. */
export function sealForGitHub(value: string, publicKeyBase64: string): string {
  const sealed = sealedBox(new TextEncoder().encode(value), Buffer.from(publicKeyBase64, 'base64'));
  return Buffer.from(sealed).toString('base64');
}
