// Web Worker: Argon2id (RFC 9106) off the main thread, so the page stays responsive while a
// passphrase is stretched (64 MiB, several seconds in JavaScript). It receives the passphrase,
// salt and parameters of a sealed document, posts progress, then the 32-byte key.
import { deriveKey } from '../sdk/crypto/sealed.js';

self.onmessage = async (event) => {
  const { id, passphrase, salt, params } = event.data;
  try {
    let last = -1;
    const key = await deriveKey(passphrase, salt, params, (fraction) => {
      const pct = Math.floor(fraction * 100);
      if (pct !== last) { last = pct; self.postMessage({ id, progress: fraction }); }
    });
    self.postMessage({ id, key }, [key.buffer]);
  } catch (err) {
    self.postMessage({ id, error: String(err?.message || err), name: err?.name });
  }
};
