// IndexedDB on this origin: the sealed wallet (the same bytes as a wallet file) and the receipt
// files. Nothing here is in clear except receipts, which hold ids and hashes only (as the CLI
// keeps them beside the wallet).
import { t } from './i18n.js';

const DB_NAME = 'consilience';
const DB_VERSION = 1;

function openDb() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, DB_VERSION);
    req.onupgradeneeded = () => {
      const db = req.result;
      if (!db.objectStoreNames.contains('wallet')) db.createObjectStore('wallet');
      if (!db.objectStoreNames.contains('receipts')) db.createObjectStore('receipts');
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function tx(store, mode, fn) {
  const db = await openDb();
  try {
    return await new Promise((resolve, reject) => {
      const transaction = db.transaction(store, mode);
      const req = fn(transaction.objectStore(store));
      transaction.oncomplete = () => resolve(req?.result);
      transaction.onerror = () => reject(transaction.error);
      transaction.onabort = () => reject(transaction.error || new Error(t('app.store.aborted')));
    });
  } finally {
    db.close();
  }
}

/** The sealed wallet document (string, the exact file text) or null. */
export function loadSealedWallet() {
  return tx('wallet', 'readonly', (s) => s.get('current')).then((v) => v ?? null);
}

export function saveSealedWallet(text) {
  return tx('wallet', 'readwrite', (s) => s.put(text, 'current'));
}

export async function forgetWallet() {
  await tx('wallet', 'readwrite', (s) => s.delete('current'));
  await tx('receipts', 'readwrite', (s) => s.clear());
}

export function saveReceipt(name, text) {
  return tx('receipts', 'readwrite', (s) => s.put(text, name));
}

export function loadReceipt(name) {
  return tx('receipts', 'readonly', (s) => s.get(name)).then((v) => v ?? null);
}
