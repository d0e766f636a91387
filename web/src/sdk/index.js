// Public API of the browser SDK. The folders mirror the Python package
// src/consilience (crypto/, protocol/, tlog/, clients/, errors); every module
// names its Python counterpart, and web/src/sdk/README.md lists the exports.

export { ConsilienceError, InvalidInput, VerificationError, DecryptionError, Phrase, phrase } from './errors.js';

// --- crypto ---
export * as ristretto from './crypto/ristretto.js';
export * as oprf from './crypto/oprf.js';
export * as shamir from './crypto/shamir.js';
export * as kdf from './crypto/kdf.js';
export * as aead from './crypto/aead.js';
export * as hpke from './crypto/hpke.js';
export {
  verifyPartial, combine as combinePartials, combineVerified, checkPublicShares, interpolateInExponent,
} from './crypto/threshold_oprf.js';
export {
  seal as sealSecret, open as openSecret, inspect as inspectSealed, DEFAULT_PARAMS as SEALED_DEFAULT_PARAMS,
  FAST_PARAMS as SEALED_FAST_PARAMS,
} from './crypto/sealed.js';

// --- protocol ---
export {
  b64uEncode, b64uDecode, b64Encode, b64Decode, i2osp, lp2, concatBytes, bytesEqual, hexEncode, hexDecode,
  utf8Encode, utf8Decode,
} from './protocol/encoding.js';
export { dumps as pyJsonDumps, dumpsBytes as pyJsonDumpsBytes } from './protocol/pyjson.js';
export * as matching from './protocol/matching.js';
export {
  sealEntry, submissionPayload, openBody, encodeBody, decodeBody, encodeEnvelope, parseEnvelope, envelopeInfo,
  envelopeSection, wrapContext, nowIsoSeconds,
} from './protocol/entry.js';
export { openMatch, matchedEntryFromJson, abscissaLabel } from './protocol/release.js';
export * as bls12381 from './crypto/bls12381.js';
export * as quorum from './protocol/quorum.js';
export * as accounts from './protocol/accounts.js';
export * as evaluation from './protocol/evaluation.js';
export { parameters as dkgParameters, parseConfirmation, commitmentsDigest, GENERATE as DKG_GENERATE, REFRESH as DKG_REFRESH, RESHARE as DKG_RESHARE } from './protocol/dkg.js';
export {
  normalise, normaliseMany, Identifier, KINDS, PLATFORMS, PLATFORMS_BY_KIND, MAX_LENGTH as MAX_IDENTIFIER_LENGTH,
  PHONE_EXAMPLE, supportedRegions,
} from './protocol/identifiers.js';
export {
  makeBody, makeDetails, bodyBytes, parseBody, checkBodySize, attachmentJson, attachmentFromFile, DETAIL_FIELDS,
  MAX_BODY_BYTES, MAX_ATTACHMENT_BYTES,
} from './protocol/body.js';
export {
  verifyDeployment, forgetCheckedDeployments, parseDeployment, validateDeployment, adminFingerprint, deploymentToJson, quorumParameters,
  dkgParametersOf, publicShares, keyServer, checkUrl, NOT_READY as DEPLOYMENT_NOT_READY, V1_REFUSAL as DEPLOYMENT_V1_REFUSAL,
} from './protocol/deployment.js';
export * as conversations from './protocol/conversations.js';
export { parseEvent, parseOpening, commit as commitEvent, parseLeaf, contentHash } from './protocol/events.js';
export {
  parseInvite, formatInvite, INVITE_PREFIX, INVITE_EMPTY, INVITE_MISTYPED, INVITE_IS_CREDENTIAL, INVITE_OLD_VERSION,
} from './protocol/invites.js';

// --- tlog ---
export { leafHash, nodeHash, verifyInclusion, verifyConsistency } from './tlog/merkle.js';
export { openCheckpoint, openNote, parseNote, parseVkey, ed25519Vkey, ed25519Verify } from './tlog/signed_note.js';
export { verifyReceipt, parseReceipt, FILE_EXTENSION as RECEIPT_FILE_EXTENSION } from './tlog/receipt.js';
export * as tiles from './tlog/tiles.js';

// --- clients ---
export { EscrowApi, ApiError, fetchDeployment, reporterSignIn, counselorSignIn } from './clients/api.js';
export { signLogin } from './protocol/sessions.js';
export { evaluate as evaluateOprf, KeyServerUnavailable } from './clients/oprf_client.js';
export { checkReceipt, openReceipt, expectedContent, receiptFileName } from './clients/receipts.js';
export * as reporter from './clients/reporter.js';
export * as talk from './clients/conversations.js';
// PROTOCOL.md §14.1: recovery on a new device (the client, and the handle and backup formats)
export * as recovery from './clients/recovery.js';
export * as backupFormat from './protocol/recovery.js';
export {
  WALLET_FORMAT, WALLET_PURPOSE, WALLET_V1_REFUSAL, newWallet, normaliseWallet, walletToBytes, walletFromBytes, addRecord, findRecord,
  sealWallet, openWallet,
} from './clients/wallet.js';
export {
  COUNSELOR_KEY_FORMAT, COUNSELOR_KEY_PURPOSE, counselorKeyToBytes, counselorKeyFromBytes, openCounselorKey,
  sealCounselorKey, parseCredential,
} from './clients/counselor_key.js';
