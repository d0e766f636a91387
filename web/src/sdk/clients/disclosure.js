// Making a disclosure of one escrowed record in the browser (as clients/disclosure.py does for the
// CLI): the entry's ciphertexts as the server holds them, a fresh receipt of its latest leaf, and a
// consistency bundle to the newest witness-cosigned checkpoint, with the record's body key from the
// wallet. The result is checked with protocol/disclosure.js verify() before it is handed out, so a
// server that serves other ciphertexts or a wrong proof makes the export fail instead of producing
// a file that would not stand up later.
import { InvalidInput } from '../errors.js';
import { b64Encode, b64uDecode } from '../protocol/encoding.js';
import { buildDisclosure, verify } from '../protocol/disclosure.js';
import { ApiError } from './api.js';
import { openReceipt } from './receipts.js';
import { verifyDeployment } from '../protocol/deployment.js';
import { encodeConsistency } from '../tlog/consistency.js';
import { HEADER as RECEIPT_HEADER } from '../tlog/receipt.js';

/** The newest checkpoint a listed witness cosigned (GET /v2/log/checkpoint?cosigned=1), or null if none yet. */
async function cosignedCheckpoint(api) {
  try {
    return await api.call('GET', '/v2/log/checkpoint', { params: { cosigned: 1 }, text: true });
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return null;
    throw err;
  }
}

const sizeOf = (note) => BigInt(note.split('\n')[1]);

/**
 * A receipt of the same leaf at the cosigned checkpoint's size, when the cosigned checkpoint is
 * older than the fresh receipt's (the log grew since a witness last cosigned): the public inclusion
 * proof by index (GET /v2/log/inclusion) under that checkpoint, with the leaf's opening kept.
 * Returns null when the server cannot give it.
 */
async function receiptAt(api, opening, index, note) {
  let answer;
  try {
    answer = await api.call('GET', '/v2/log/inclusion', { params: { index: String(index), size: String(sizeOf(note)) } });
  } catch (err) {
    if (err instanceof ApiError) return null;
    throw err;
  }
  const proof = (answer?.proof ?? []).map((h) => b64Encode(b64uDecode(h, 32)));
  const head = [RECEIPT_HEADER, `extra ${b64Encode(opening)}`, `index ${index}`, ...proof];
  return `${head.join('\n')}\n\n${note}`;
}

/**
 * makeDisclosure(api, wallet, record): the disclosure document of an escrowed record, checked.
 * Returns {doc, check} (check: verify()'s result). `api` is the account's EscrowApi.
 */
export async function makeDisclosure(api, wallet, record) {
  const e = record?.escrow;
  if (!e || e.status !== 'escrowed' || e.pending) {
    throw new InvalidInput('only a record that is in escrow, and confirmed by the server, can be exported as a proof', { code: 'disclosure.notEscrowed' });
  }
  const published = await api.deployment();
  const d = await verifyDeployment(published, b64uDecode(wallet.admin_fingerprint, 16));
  const entry = await api.entry(e.entry_id);
  let receipt = (await api.receipt(e.entry_id)).receipt;
  const opened = openReceipt(receipt, d.log.vkey, { origin: d.log.origin });
  let consistency = null;
  const cosigned = await cosignedCheckpoint(api);
  if (cosigned !== null) {
    const newSize = sizeOf(cosigned);
    if (newSize >= opened.treeSize) {
      const answer = newSize === opened.treeSize ? { proof: [] }
        : await api.consistency(String(opened.treeSize), String(newSize));
      const proof = answer.proof.map((h) => b64uDecode(h, 32));
      consistency = encodeConsistency(opened.treeSize, proof, cosigned);
    } else if (opened.index < newSize) {
      const older = await receiptAt(api, concat(opened.opening), opened.index, cosigned);
      if (older !== null) {
        receipt = older;
        consistency = encodeConsistency(newSize, [], cosigned);
      }
    }
  }
  const doc = buildDisclosure({ published, adminFingerprint: wallet.admin_fingerprint, entry, bodyKey: e.body_key, receipt, consistency });
  return { doc, check: await verify(doc) };
}

function concat(opening) {
  const out = new Uint8Array(opening.nonce.length + opening.event.length);
  out.set(opening.nonce);
  out.set(opening.event, opening.nonce.length);
  return out;
}
