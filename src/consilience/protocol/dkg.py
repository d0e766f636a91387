"""Distributed key generation for protocol v2's quorum secrets and VOPRF key: no dealer ever holds one.

Construction
    Joint-Feldman DKG (Pedersen, "A threshold cryptosystem without a trusted
    party", EUROCRYPT 1991) with the complaint-and-disqualification phase of
    Gennaro, Jarecki, Krawczyk and Rabin, "Secure distributed key generation
    for discrete-log based cryptosystems" (J. Cryptology 20(1), 2007; the
    protocol they call JF-DKG, steps 1–4), run over the vector of every
    coefficient of every quorum level at once, with Feldman commitments in
    G2, plus one polynomial for the VOPRF key (RFC 9497, ristretto255) with
    Feldman commitments in ristretto255, plus one symmetric "abscissa key"
    that every key server ends up holding. n key servers have indices 1..n;
    t of them reconstruct.

    Kinds (:attr:`Parameters.kind`). A run either generates new secrets
    (GENERATE, 0), or renews the shares of a published result without
    changing its secrets: REFRESH (1; the same key servers and threshold get
    new shares) or RESHARE (2; the previous holders hand the secrets to a new
    set of key servers, with its own n, threshold and indices). A renewal
    names the result it renews by its commitments digest (``previous_digest``,
    what that result's confirmations signed) and needs its public values
    (:class:`Previous`: the previous key servers, threshold t_old, master
    commitments, every holder's commitments Y and VOPRF public share, and the
    abscissa check). When generating, the dealers are the participants; when
    renewing, the dealers are the previous holders (their previous indices)
    and the recipients are the participants (their new indices). Deals and
    answers are authored by dealer indices, complaints and confirmations by
    recipient indices.

    Coefficients. For every level q in [low, high] the secret polynomial F_q
    has q coefficients a_{q,0} … a_{q,q-1}; all levels are laid out in one
    vector, level by level, lowest first, coefficient 0 first: index
    k = Σ_{q' < q} q' + j for a_{q,j}; m = Σ_q q coefficients in all. The
    VOPRF key is one more secret, k_oprf, modulo ristretto255's order ℓ
    (the BLS coefficients are modulo BLS12-381's r, another prime).

    Round 1 (deal). Dealer i picks, for every k, a polynomial
    f_{i,k}(z) = Σ_{l<t} b_{i,k,l} z^l (b_{i,k,0} is its contribution to
    coefficient k), a polynomial g_i(z) = Σ_{l<t} e_{i,l} z^l mod ℓ for the
    VOPRF key, and a 32-byte abscissa-key part c_i, and publishes one signed
    deal: the commitments A_{i,k,l} = b_{i,k,l}·G2 and R_{i,l} = e_{i,l}·G
    (G the ristretto255 generator), a commitment to c_i, and for every
    recipient j (itself included, so that a key server's state is its keys
    plus the board) an HPKE ciphertext of (f_{i,k}(j) for every k, g_i(j),
    c_i). Everything a dealer picks at random is derived from one 32-byte
    random seed it keeps until the run ends (:class:`DealerSeed`).

    * GENERATE: every b_{i,k,l} and e_{i,l} is random (nonzero), c_i is a
      random contribution and its commitment is the hash h_i = H(c_i).
    * REFRESH (Herzberg, Jarecki, Krawczyk and Yung, "Proactive secret
      sharing or: how to cope with perpetual leakage", CRYPTO 1995): each
      holder deals shares of zero, b_{i,k,0} = 0 and e_{i,0} = 0. The
      constant terms' commitments A_{i,k,0} and R_{i,0} are not sent: every
      reader takes them to be the identity.
    * RESHARE (Desmedt and Jajodia, "Redistributing secret shares to new
      access structures and its applications", GMU tech. report ISSE-TR-97-01,
      1997; verifiable as in Wong, Wang and Wing, "Verifiable secret
      redistribution for archive systems", IEEE SISW 2002): each previous
      holder i deals shares of its own share, b_{i,k,0} = s_k(i) and
      e_{i,0} = k_oprf(i), to the new set, with the new threshold t' (so
      l < t'). A_{i,k,0} and R_{i,0} are not sent: every reader takes them to
      be the published commitments to dealer i's shares, Y_k(i) and its
      VOPRF public share, from :class:`Previous`.
    * In both renewals c_i is the abscissa key itself (every holder has it)
      and its commitment is the published abscissa check
      (:func:`abscissa_check`); a deal whose check differs from
      ``Previous.abscissa_check`` is malformed (its dealer disqualified).

    Verification. Recipient j opens its ciphertext and checks
    f_{i,k}(j)·G2 = Σ_l j^l·A_{i,k,l} for every k with one random linear
    combination: with 128-bit coefficients ρ_k derived by hashing the deal,
    j and the values (so the check is deterministic, and a dealer cannot
    choose errors that cancel without a 2^-128 guess),
    (Σ_k ρ_k f_{i,k}(j))·G2 = Σ_{k,l} (ρ_k j^l)·A_{i,k,l}, one multi-scalar
    sum over all m·t commitments (the implied constant terms included). Only
    on failure are the coefficients checked one by one, to name the wrong
    ones. It checks g_i(j)·G = Σ_l j^l·R_{i,l} (implied R_{i,0} included),
    and that c_i matches its commitment.

    Round 2 (complaints). A recipient whose check fails, or whose ciphertext
    does not open, posts a signed complaint naming the dealer and the deal's
    digest. The dealer answers each complaint by revealing the complainant's
    plaintext (its share values, VOPRF share value and c_i), signed; anyone
    checks it against the commitments, and the complainant uses the revealed
    values.

    Qualification (:func:`qualify`, a deterministic function of the board's
    messages, so everyone who sees the same board gets the same set): a dealer
    is disqualified if it has no validly signed, well-formed deal on the board
    (nothing by the deadline, a relay that tampered with it, commitments of the
    wrong number or not decoding as G2 or ristretto255 points, in a renewal an
    abscissa check other than the published one), if it signed two different
    deals, if t or more servers complained about it (t the run's threshold,
    t' in a resharing), or if any complaint has no answer that verifies. The
    run fails unless enough dealers qualify: t when generating (at most t−1
    key servers are assumed corrupt, so at least one honest dealer is in
    QUAL), the previous threshold t_old when renewing (enough to interpolate
    the previous shares, and again at least one honest previous holder); and,
    when generating, in :func:`finalize`, unless the server's own deal
    qualifies.

    Result. GENERATE: server j's share of coefficient k is
    s_k(j) = Σ_{i∈QUAL} f_{i,k}(j) and its VOPRF key share
    k_oprf(j) = Σ_{i∈QUAL} g_i(j); the master commitments are
    C_k = Σ_{i∈QUAL} A_{i,k,0}, the VOPRF public key Σ_{i∈QUAL} R_{i,0}; the
    commitment to server j's share, computable by anyone from the board, is
    Y_k(j) = Σ_l j^l·Σ_{i∈QUAL} A_{i,k,l} and its VOPRF public share
    Σ_l j^l·Σ_{i∈QUAL} R_{i,l}. The abscissa key is HKDF over the qualified
    dealers' contributions in index order. The holders are QUAL.

    REFRESH: s'_k(j) = s_k(j) + Σ_{i∈QUAL} f_{i,k}(j),
    Y'_k(j) = Y_k(j) + Σ_l j^l·Σ_{i∈QUAL} A_{i,k,l} (likewise for the VOPRF
    key and public shares). RESHARE: with λ_i the Lagrange coefficients at 0
    over QUAL (mod r for the BLS coefficients, mod ℓ for the VOPRF key),
    s'_k(j) = Σ_{i∈QUAL} λ_i·f_{i,k}(j) and
    Y'_k(j) = Σ_l j^l·Σ_{i∈QUAL} λ_i·A_{i,k,l} (likewise for the VOPRF key).
    In both, the master commitments, the VOPRF public key and the abscissa
    key stay those of the renewed result, and every participant holds shares
    (the holders are all of the new set). The renewed result's shares are
    erased once the renewal is confirmed (not before: the run may fail), and
    only then is a refresh worth anything against an adversary that collects
    shares over time.

    Why a renewal keeps the secrets, and why a dealer cannot change them.
    The constant terms' commitments are never sent, so a dealer cannot pick
    them: every reader puts in the identity (refresh) or the commitments to
    the dealer's own shares that the previous result published and all its
    holders confirmed (resharing). A share that verifies lies on the
    polynomial those commitments fix in the exponent (Feldman), so every
    honest recipient's share of dealer i (received, or revealed in an
    answer, which is checked the same way) is the value at j of a polynomial
    of degree < t' with f_{i,k}(0)·G2 = A_{i,k,0}: in a refresh f_{i,k}(0) = 0,
    in a resharing f_{i,k}(0) = s_k(i), because s·G2 = Y_k(i) has one
    solution s. A dealer that deals from another constant (a wrong share, or
    a nonzero one in a refresh) gives every honest recipient shares that do
    not verify; they all complain, no answer verifies, and it is
    disqualified. Hence after a refresh the shares of any t holders
    interpolate to s_k(0) + Σ_i f_{i,k}(0) = s_k(0); after a resharing
    Σ_{i∈QUAL} λ_i·f_{i,k}(0) = Σ λ_i·s_k(i) = s_k(0), since the s_k(i) are
    |QUAL| ≥ t_old points of a polynomial of degree t_old − 1 (:func:`qualify`
    checks this on the commitments: Σ λ_i·Y_k(i) = C_k, which fails only if
    the previous result's published commitments are inconsistent). The same
    holds for the VOPRF key mod ℓ. The abscissa key is fixed by its
    published check. The new shares are fresh: the higher coefficients are
    random, and at least one qualified dealer is honest, so t'−1 new shares,
    or t−1 old shares with new ones (refresh), say nothing about the secrets.

    Round 4 (confirmation). Every key server that finalized posts a signed
    confirmation of its result's transcript digest, qualified set, the
    digest of the public commitments it computed (:func:`commitments_digest`:
    what a deployment document publishes, so whoever publishes them cannot
    pair the confirmations with another run's commitments) and the check of
    its abscissa key, and uses nothing of the result until :func:`confirmed`
    accepts it: every holder (QUAL when generating, every participant when
    renewing) has confirmed the same transcript, qualified set, commitments
    digest and abscissa check, and no listed key server has signed a
    confirmation of any other. Confirmations are not part of the transcript
    (so one board can carry all four rounds).

    Why all holders, not t and not all n. The shares are only consistent if
    every holder computed them from the same board: a server that was shown
    a board without one dealer's deal finalizes on another QUAL, so its
    shares and commitments belong to other polynomials, and it cannot tell.
    Only the holders themselves can say which board they used, so every
    holder (every member of QUAL when generating; a server outside QUAL has
    no shares, its own finalize refuses) must confirm. A threshold rule (t
    confirmations) is not enough: with n ≥ 2t a relay can split the servers
    into two groups of t that each see t confirmations of their own
    transcript and both put different keys into use, and with any n the
    servers outside the t hold shares nobody checked. Requiring all n when
    generating would let any disqualified server, honest or not, block every
    run. In a renewal every participant holds shares, whether or not it dealt
    (a new server deals nothing; a previous holder whose deal was
    disqualified still receives), so all of them confirm; a previous holder
    that left the set holds nothing new and does not. A signed confirmation
    of another transcript, from anyone listed, is evidence that someone was
    shown another board, so it fails the run too (a corrupt server gains
    nothing by it: a corrupt holder can already block by staying silent).
    Liveness: one silent holder blocks use, and the run is repeated, as after
    a crash in any earlier round (a renewal that fails leaves the renewed
    result in use). Safety: if one key server's :func:`confirmed` succeeds,
    every holder signed that it finalized on the same transcript, hence the
    same QUAL, commitments and abscissa-key inputs (SHA-256 collision
    resistance), whatever the relay showed anyone; the relay can only
    withhold, which blocks.

Where this simplifies GJKR, and why that is safe here
    * Joint-Feldman rather than GJKR's Pedersen-VSS first round. GJKR show
      that in JF-DKG a rushing adversary can bias the distribution of the
      public values: after seeing the honest commitments it decides which of
      its own dealers (at most t−1) end up disqualified, and a relay can drop
      deals too, so the result is one of at most 2^n outcomes and not uniform.
      That matters only where uniformity is needed. The quorum secrets are
      used as keys of computational problems (CDH/BDH type: computing
      F_q(0)·P* or the KEM key from public values), and so is the VOPRF key
      (its outputs are pseudorandom under a one-more-Gap-DH assumption), and
      for those the argument of Gennaro, Jarecki, Krawczyk and Rabin, "Secure
      applications of Pedersen's distributed key generation protocol" (CT-RSA
      2003; made there for threshold Schnorr) carries over: a simulator embeds
      its challenge in one honest dealer's contribution (Feldman shares to the
      corrupt servers chosen at random, commitments interpolated in the
      exponent, false complaints answered with those known shares) and learns
      every qualified corrupt dealer's contribution from the honest servers'
      verified shares, so the final secret is the challenge plus a known
      offset. That needs at least t honest servers, n ≥ 2t − 1 with t − 1
      corrupt (3 of 2 and 7 of 4 qualify; a deployment needs it anyway to
      answer with t servers while t − 1 refuse); below it we claim no more
      than JF-DKG's secrecy. The commitments a_{q,j}·G2 and the VOPRF public
      key and shares are public in v2 anyway, so Feldman's commitments leak
      nothing more than v2 publishes. A renewal's secrets are not chosen in
      it at all, so there is nothing to bias; its Feldman commitments to the
      new polynomials reveal only the new public shares, which v2 publishes.
    * No separate public-key extraction round: Feldman commitments are
      already the public values.
    * The broadcast channel is an untrusted relay. It cannot forge (every
      message is signed by a key listed in the parameters, or in a renewal
      for deals and answers by a previous holder's key listed in
      :class:`Previous`) or read shares (HPKE to each recipient, info bound
      to deployment, epoch, parameters, dealer and recipient). It can drop,
      delay, reorder and duplicate: that can only disqualify dealers or make
      the run fail (too few qualified dealers, or a server's own deal
      missing), never add a dealer. It could show different servers
      different boards; round 4 catches that: each server signs the
      transcript digest it finalized on, and :func:`confirmed` refuses unless
      every holder signed the same one.
    * The parameters digest covers the renewed result only through its
      commitments digest, not the previous key servers' keys (a deployment
      document that lists the renewed shares' holders no longer lists the
      set that dealt them, and clients must still read the confirmations);
      every key server takes :class:`Previous` from the one signed document
      that names that digest, and :func:`parse`'s cache is keyed on it too.
      A key server given other previous keys than the others accepts other
      deals, finalizes on another transcript, and round 4 fails the run.
    * Complaints only about a deal that is on the board (a "nothing by the
      deadline" complaint is recorded but changes nothing: no deal on the
      board already disqualifies). So an honest recipient complains only
      against a faulty dealer, an honest dealer's revealed shares go only to
      complainants who are corrupt (and knew them), and :func:`answer`
      refuses to reveal anything once t or more servers have complained,
      which disqualifies the dealer anyway.
    * The abscissa-key contribution is not shared but sent whole to every
      server (every key server holds the abscissa key), committed by a hash.
      An answer reveals it; it still enters the key (all agree on it). The key
      is secret from the relay while one honest dealer's contribution is not
      revealed; only a corrupt key server can force a reveal, and a corrupt
      key server holds the abscissa key in any case. In a renewal the part
      sent is the key itself, so one answer publishes the key on the board:
      again only a corrupt key server (a false complainant, or a faulty
      dealer) can cause an answer, and it holds the key anyway.
    * Before dealing in a renewal, :func:`deal` checks the dealer's own
      stored shares against the published commitments (and a refreshing
      :func:`finalize` the shares it adds to), so a server with damaged
      shares refuses with a message rather than being disqualified.

Byte encodings (integers big-endian unless said otherwise; ``lp2(x)`` = 2-byte length ‖ x)
    Parameters digest (32 bytes)::

        SHA-256( lp2("consilience-v2 dkg parameters") ‖ lp2(deployment_id)
                 ‖ u64 epoch ‖ u8 n ‖ u8 t ‖ u8 low ‖ u8 high
                 ‖ for i = 1..n: u8 i ‖ identity_key[32] ‖ lp2(hpke_public_key)
                 ‖ u8 kind ‖ previous_digest[32] )

    over the participants (the recipients), with kind 0 generate, 1 refresh,
    2 reshare, and previous_digest the :func:`commitments_digest` of the
    renewed result (32 zero bytes when generating, and only then).

    Every message is ``body ‖ Ed25519 signature[64]`` over ``body`` by its
    author's identity key, and every body starts with the header::

        lp2(label) ‖ lp2(deployment_id) ‖ u64 epoch ‖ parameters_digest[32] ‖ u8 author

    Deal, label ``"consilience-v2 dkg deal"``, author the dealer::

        header ‖ u16 m ‖ u8 t ‖ A_{k,l}[96] for k < m, f ≤ l < t (k-major)
               ‖ R_l[32] for f ≤ l < t ‖ contribution_commitment[32]
               ‖ u8 n ‖ for j = 1..n: u8 j ‖ u32 len ‖ ciphertext_j

    with f = 0 when generating and f = 1 when renewing (A_{k,0} and R_0 not
    sent: the identity in a refresh, Y_k(dealer) and the dealer's VOPRF
    public share from :class:`Previous` in a resharing), A in G2's 96-byte
    compressed encoding and R in ristretto255's 32-byte canonical encoding
    (never the identity). ciphertext_j = HPKE.seal(hpke_public_key_j,
    plaintext, info) with::

        plaintext = f_{i,0}(j)[32] ‖ … ‖ f_{i,m-1}(j)[32] ‖ g_i(j)[32, little-endian] ‖ c_i[32]

    (the f values big-endian scalars < r, the g value a canonical
    ristretto255 scalar < ℓ, zero allowed in both; c_i the contribution, or
    the abscissa key when renewing) and info = lp2("consilience-v2 dkg
    share") ‖ lp2(deployment_id) ‖ u64 epoch ‖ parameters_digest ‖ u8 dealer
    ‖ u8 j. When generating, contribution_commitment =
    SHA-256(lp2("consilience-v2 dkg abscissa contribution") ‖
    parameters_digest ‖ u8 dealer ‖ c_i); when renewing it is
    abscissa_check(abscissa key) = SHA-256(lp2("consilience-v2 abscissa key
    check") ‖ lp2(deployment_id) ‖ key) and must equal
    ``Previous.abscissa_check``. Deal digest (32 bytes) =
    SHA-256(lp2("consilience-v2 dkg deal digest") ‖ deal body).

    Complaint, label ``"consilience-v2 dkg complaint"``, author the complainant (a recipient)::

        header ‖ u8 dealer ‖ deal_digest[32] (zeros for reason 4) ‖ u8 reason

    reason 1 the ciphertext does not open, 2 shares (BLS or VOPRF) do not
    verify, 3 the contribution does not match its commitment, 4 nothing by
    the deadline. When generating a server does not complain about itself.

    Answer, label ``"consilience-v2 dkg answer"``, author the dealer::

        header ‖ u8 complainant ‖ deal_digest[32] ‖ plaintext (as above)

    The batch coefficients ρ_0 … ρ_{m-1} are the consecutive 16-byte
    big-endian integers of SHAKE-256(lp2("consilience-v2 dkg batch") ‖
    deal_digest ‖ u8 j ‖ plaintext, 16·m bytes). When generating, the
    abscissa key is ``kdf.derive(c_{i1} ‖ … ‖ c_{iQ}, "consilience-v2 dkg
    abscissa key", parameters_digest ‖ u8 |QUAL| ‖ u8 i1 … u8 iQ, 32)`` over
    the qualified dealers in increasing index order; when renewing it is the
    key every qualified deal sent. The transcript digest is SHA-256 of
    lp2("consilience-v2 dkg transcript") followed by every accepted deal,
    complaint and answer's SHA-256 (of its whole bytes, signature included),
    sorted; confirmations are not included, nor complaints of reason 4
    (nothing by the deadline: they change nothing, and a key server that
    started later posts them after the others finalized).

    Confirmation, label ``"consilience-v2 dkg confirm"``, author the confirming key server (a recipient)::

        header ‖ transcript_digest[32] ‖ u8 |QUAL| ‖ u8 i1 … u8 iQ ‖ commitments_digest[32] ‖ abscissa_check[32]

    with the qualified dealers' indices in increasing order (at least one,
    each in 1..n when generating; the previous set's indices when renewing),
    ``commitments_digest`` as :func:`commitments_digest` computes it, and
    abscissa_check that of the key it holds. The header binds deployment,
    epoch and parameters, so a confirmation from another run of another
    epoch or deployment is refused before its digest is read.

    Commitments digest (32 bytes; what a deployment document's quorum keys
    carry, and a renewal's previous_digest)::

        SHA-256( lp2("consilience-v2 dkg public commitments")
                 ‖ for q = low..high: u8 q ‖ C_{q,0}[96] ‖ … ‖ C_{q,q-1}[96]
                 ‖ for each holder i, ascending: u8 i ‖ for q = low..high: Y_{q,0}(i)[96] ‖ … ‖ Y_{q,q-1}(i)[96]
                                                 ‖ oprf_public_share_i[32]
                 ‖ oprf_public_key[32] ‖ abscissa_check[32] )

    with the holders QUAL when generating and every participant when renewing.

Nothing here touches the network, a database or files: a key server's state
is its identity and HPKE keys, its :class:`DealerSeed` until the run ends
(fresh for every run: the same seed under the same parameters gives a second,
different deal, which disqualifies), in a renewal its :class:`HeldShares` of
the renewed result, and the board's messages.

Use, one key server j (the caller enforces the deadlines: a message that
arrives after its phase closes is not passed in; ``held`` is None when
generating, else this server's shares of the renewed result as a previous
holder, ``previous_result.held()``, and None for a new server)::

    seed = DealerSeed.fresh(); post(deal(params, i, identity, seed, held))  # i: its dealer index
    # after the deal deadline
    post(*complaints_for(params, j, identity, hpke_seed, board))
    # after the complaint deadline
    post(*answer(params, i, identity, seed, board, held))
    # after the answer deadline
    result = finalize(params, j, hpke_seed, board, held)  # held: only read in a refresh
    erase seed
    post(confirm(params, identity, result))
    # after the confirmation deadline (or as soon as all holders confirmed): only now use the shares,
    # and erase the renewed result's shares
    result = confirmed(params, result, board)

Caches. :func:`parse` keeps the last 512 messages that parsed (a pure
function of parameters, the previous result and bytes, immutable results), and
:func:`check_values` remembers SHA-256 digests of the values that verified
(never the values), so :func:`finalize` does not decode and check again what
:func:`complaints_for` already did. :func:`clear_caches` empties both.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import cast

from consilience.crypto import hpke, kdf, ristretto, shamir, signing
from consilience.crypto.bls12381 import G2_BYTES, SCALAR_BYTES, G2Point, Scalar, hash_to_scalar, lagrange_coefficients
from consilience.errors import DecryptionError, InvalidInput, VerificationError
from consilience.i18n import N_, _, _n
from consilience.protocol.encoding import i2osp, lp2

DEAL_LABEL = b"consilience-v2 dkg deal"
COMPLAINT_LABEL = b"consilience-v2 dkg complaint"
ANSWER_LABEL = b"consilience-v2 dkg answer"
CONFIRM_LABEL = b"consilience-v2 dkg confirm"
_PARAMS_LABEL = b"consilience-v2 dkg parameters"
_SHARE_INFO_LABEL = b"consilience-v2 dkg share"
_CONTRIBUTION_LABEL = b"consilience-v2 dkg abscissa contribution"
_DIGEST_LABEL = b"consilience-v2 dkg deal digest"
_BATCH_LABEL = b"consilience-v2 dkg batch"
_TRANSCRIPT_LABEL = b"consilience-v2 dkg transcript"
_COMMITMENTS_LABEL = b"consilience-v2 dkg public commitments"
_POLY_DST = b"consilience-v2 dkg dealer polynomial"
_OPRF_POLY_LABEL = b"consilience-v2 dkg dealer oprf polynomial"
_ABSCISSA_CHECK_LABEL = b"consilience-v2 abscissa key check"
ABSCISSA_KEY_LABEL = "consilience-v2 dkg abscissa key"
_CONTRIBUTION_SEED_LABEL = "consilience-v2 dkg dealer contribution"

SIGNATURE_BYTES = 64
DIGEST_BYTES = 32
CONTRIBUTION_BYTES = 32
ABSCISSA_KEY_BYTES = 32
SEED_BYTES = 32
_BATCH_BYTES = 16
_NO_DIGEST = bytes(DIGEST_BYTES)

#: What a run does (PROTOCOL.md §7.2): generate new secrets, or renew the shares of the published ones.
GENERATE = 0
REFRESH = 1
RESHARE = 2
KINDS = {GENERATE: "generate", REFRESH: "refresh", RESHARE: "reshare"}

#: ristretto255's identity element: the implicit constant term of a refresh's OPRF polynomials
_R_IDENTITY = bytes(ristretto.ELEMENT_BYTES)

#: Complaint reasons.
CANNOT_OPEN = 1
BAD_SHARES = 2
BAD_CONTRIBUTION = 3
NOTHING_BY_DEADLINE = 4
REASONS = {CANNOT_OPEN: N_("the ciphertext does not open"), BAD_SHARES: N_("shares do not verify"),
           BAD_CONTRIBUTION: N_("the contribution does not match its hash"),
           NOTHING_BY_DEADLINE: N_("nothing by the deadline")}
#: The one problem that makes a complaint BAD_CONTRIBUTION rather than BAD_SHARES (verify_deal).
_CONTRIBUTION_MISMATCH = N_("the abscissa-key contribution does not match its hash")


class MalformedMessage(InvalidInput):
    """A message whose signature verifies but whose body is malformed: its author is to blame."""

    def __init__(self, author: int, label: bytes, message: str) -> None:
        super().__init__(message)
        self.author = author
        self.label = label


class DkgFailed(VerificationError):
    """The run produced no usable result (too few qualified dealers, own deal not qualified, …).

    From :func:`confirmed`: ``disagreeing`` are the key servers that signed a
    confirmation of another transcript (or two different ones), ``missing``
    the qualified ones with no valid confirmation on the board.
    """

    def __init__(self, message: str, *, disagreeing: Sequence[int] = (), missing: Sequence[int] = ()) -> None:
        super().__init__(message)
        self.disagreeing = tuple(disagreeing)
        self.missing = tuple(missing)


# -- parameters ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Participant:
    """A key server as the deployment document lists it."""

    index: int
    identity_key: bytes  # Ed25519 public key, 32 bytes
    hpke_public_key: bytes  # X-Wing public key, 1216 bytes


@dataclass(frozen=True)
class Previous:
    """The published result a refresh or resharing renews, as the deployment document lists it.

    ``levels[q - low]`` are the master commitments C_{q,0..q-1}; ``servers`` gives, for each
    holder i, its commitments Y_{q,j}(i) level by level and its VOPRF public share; all points
    in their compressed encodings (G2: 96 bytes, ristretto255: 32).
    """

    threshold: int
    holders: tuple[Participant, ...]  # the previous set of key servers, indices 1..n_old
    levels: tuple[tuple[bytes, ...], ...]
    oprf_public_key: bytes
    servers: tuple[tuple[int, tuple[tuple[bytes, ...], ...], bytes], ...]
    abscissa_check: bytes

    @property
    def qualified(self) -> tuple[int, ...]:
        """The previous holders of shares: exactly those may deal in the renewal."""
        return tuple(i for i, _unused1, _unused2 in self.servers)

    def digest(self, low: int) -> bytes:
        """:func:`commitments_digest` of the renewed result (what its confirmations signed)."""
        return commitments_digest(
            {low + n: cs for n, cs in enumerate(self.levels)},
            {i: {low + n: cs for n, cs in enumerate(levels)} for i, levels, _unused in self.servers},
            self.oprf_public_key, {i: share for i, _unused, share in self.servers}, self.abscissa_check)

    @cached_property
    def flat(self) -> dict[int, tuple[tuple[G2Point, ...], bytes]]:
        """Holder i -> (Y_k(i) for k < m, decoded; its VOPRF public share)."""
        return {i: (tuple(G2Point.from_bytes(c) for level in levels for c in level), share)
                for i, levels, share in self.servers}

    @cached_property
    def master_flat(self) -> tuple[G2Point, ...]:
        return tuple(G2Point.from_bytes(c) for level in self.levels for c in level)


@dataclass(frozen=True)
class Parameters:
    deployment_id: bytes
    epoch: int
    threshold: int
    low: int
    high: int
    #: the key servers that receive shares (and, when generating, deal them)
    participants: tuple[Participant, ...]
    kind: int = GENERATE
    #: commitments_digest of the result a renewal renews (zeros when generating); part of the digest
    previous_digest: bytes = bytes(32)
    #: that result's public values, needed to deal and check a renewal (not to read its confirmations)
    previous: Previous | None = field(default=None, compare=False, hash=False)

    def __post_init__(self) -> None:
        if not isinstance(self.deployment_id, bytes) or not 1 <= len(self.deployment_id) <= 255:
            raise InvalidInput(_("deployment id must be 1 to 255 bytes"))
        if not 0 <= self.epoch < 2**64:
            raise InvalidInput(_("epoch must fit in 64 bits"))
        n = len(self.participants)
        if not 1 <= n <= 255:
            raise InvalidInput(_("a DKG needs 1 to 255 key servers"))
        if [p.index for p in self.participants] != list(range(1, n + 1)):
            raise InvalidInput(_("key servers must have indices 1..n, in order"))
        if not 1 <= self.threshold <= n:
            raise InvalidInput(_("threshold must be between 1 and the number of key servers"))
        if not 1 <= self.low <= self.high <= 64:
            raise InvalidInput(_("quorum range must satisfy 1 <= low <= high <= 64"))
        for p in self.participants:
            if len(p.identity_key) != 32:
                raise InvalidInput(_("key server {index}: identity key must be 32 bytes", index=p.index))
            if len(p.hpke_public_key) != hpke.PUBLIC_KEY_BYTES:
                raise InvalidInput(_("key server {index}: HPKE public key must be {PUBLIC_KEY_BYTES} bytes",
                                     index=p.index, PUBLIC_KEY_BYTES=hpke.PUBLIC_KEY_BYTES))
        if len({p.identity_key for p in self.participants}) != n:
            raise InvalidInput(_("key servers must have distinct identity keys"))
        if self.kind not in KINDS or len(self.previous_digest) != DIGEST_BYTES:
            raise InvalidInput(_("unknown kind of key-generation run"))
        if (self.kind == GENERATE) != (self.previous_digest == bytes(DIGEST_BYTES)):
            raise InvalidInput(_("a renewal names the result it renews, and only a renewal does"))
        if self.previous is not None:
            self._check_previous(self.previous)

    def _check_previous(self, prev: Previous) -> None:
        if self.kind == GENERATE:
            raise InvalidInput(_("a generation renews nothing"))
        if prev.digest(self.low) != self.previous_digest:
            raise InvalidInput(_("the previous result does not match the digest the parameters name"))
        if len(prev.levels) != self.high - self.low + 1 or any(len(cs) != q for q, cs in zip(
                self.levels, prev.levels, strict=True)):
            raise InvalidInput(_("a renewal keeps the quorum range of the result it renews"))
        old = [p.index for p in prev.holders]
        if (old != list(range(1, len(old) + 1)) or not set(prev.qualified) <= set(old)
                or list(prev.qualified) != sorted(set(prev.qualified))):
            raise InvalidInput(_("the previous key servers must have indices 1..n, and the holders be among them, "
                                 "each once, in increasing order"))
        if len({p.identity_key for p in prev.holders}) != len(old):
            raise InvalidInput(_("the previous key servers must have distinct identity keys"))
        if not 1 <= prev.threshold <= len(old):
            raise InvalidInput(_("the previous threshold must be between 1 and the number of previous key servers"))
        if len(prev.qualified) < prev.threshold:
            raise InvalidInput(_("the previous result has fewer holders than its threshold"))
        if self.kind == REFRESH and (prev.holders != self.participants or prev.threshold != self.threshold
                                     or list(prev.qualified) != old):
            raise InvalidInput(_("a refresh keeps the same key servers and threshold, every one holding shares; "
                                 "anything else is a resharing"))

    @property
    def dealers(self) -> tuple[Participant, ...]:
        """Who may author deals and answers: the participants when generating, the previous holders else."""
        if self.kind == GENERATE:
            return self.participants
        if self.previous is None:
            raise InvalidInput(_("this renewal's parameters lack the result it renews (only its confirmations can "
                                 "be read with them)"))
        return tuple(p for p in self.previous.holders if p.index in self.previous.qualified)

    def dealer(self, index: int) -> Participant:
        for p in self.dealers:
            if p.index == index:
                return p
        raise InvalidInput(_("key server {index} does not deal in this run", index=index))

    @property
    def dealer_threshold(self) -> int:
        """How many dealers must qualify: t when generating, the previous t when renewing (to interpolate)."""
        if self.kind == GENERATE or self.previous is None:
            return self.threshold
        return self.previous.threshold

    @property
    def n(self) -> int:
        return len(self.participants)

    @property
    def levels(self) -> range:
        return range(self.low, self.high + 1)

    @property
    def coefficients(self) -> int:
        """m = Σ_q q: the length of the coefficient vector."""
        return sum(self.levels)

    def offset(self, q: int) -> int:
        """Index in the vector of a_{q,0}."""
        if q not in self.levels:
            raise InvalidInput(_("quorum {q} is outside [{low}, {high}]", q=q, low=self.low, high=self.high))
        return sum(range(self.low, q))

    def participant(self, index: int) -> Participant:
        if not 1 <= index <= self.n:
            raise InvalidInput(_("no key server {index}", index=index))
        return self.participants[index - 1]

    @cached_property
    def digest(self) -> bytes:
        """The parameters digest of the module docstring."""
        data = (lp2(_PARAMS_LABEL) + lp2(self.deployment_id) + i2osp(self.epoch, 8) + i2osp(self.n, 1)
                + i2osp(self.threshold, 1) + i2osp(self.low, 1) + i2osp(self.high, 1))
        for p in self.participants:
            data += i2osp(p.index, 1) + p.identity_key + lp2(p.hpke_public_key)
        # Only the renewed result's digest, not the previous key servers: a deployment document that
        # lists the renewed shares' holders no longer lists the set that dealt them, and clients must
        # still read the confirmations. Every key server takes the previous set from one signed document.
        data += i2osp(self.kind, 1) + self.previous_digest
        return hashlib.sha256(data).digest()

    def header(self, label: bytes, author: int) -> bytes:
        return lp2(label) + lp2(self.deployment_id) + i2osp(self.epoch, 8) + self.digest + i2osp(author, 1)

    def share_info(self, dealer: int, recipient: int) -> bytes:
        return (lp2(_SHARE_INFO_LABEL) + lp2(self.deployment_id) + i2osp(self.epoch, 8) + self.digest
                + i2osp(dealer, 1) + i2osp(recipient, 1))


# -- wire helpers ----------------------------------------------------------------------------------


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, size: int) -> bytes:
        if size < 0 or self.pos + size > len(self.data):
            raise InvalidInput(_("DKG message truncated"))
        out = self.data[self.pos : self.pos + size]
        self.pos += size
        return out

    def int(self, size: int) -> int:
        return int.from_bytes(self.take(size), "big")

    def lp2(self) -> bytes:
        return self.take(self.int(2))

    def end(self) -> None:
        if self.pos != len(self.data):
            raise InvalidInput(_("trailing bytes after a DKG message"))


def _sign(body: bytes, identity_private: bytes, author: Participant) -> bytes:
    if signing.public_key(identity_private) != author.identity_key:
        raise InvalidInput(_("this identity key is not key server {index}'s", index=author.index))
    return body + signing.sign(identity_private, body)


def _contribution_hash(params: Parameters, dealer: int, contribution: bytes) -> bytes:
    """What a deal commits its abscissa-key part to: a hash of the contribution when generating; when
    renewing, the part is the abscissa key itself, so the published :func:`abscissa_check`."""
    if params.kind != GENERATE:
        return abscissa_check(params.deployment_id, contribution)
    return hashlib.sha256(lp2(_CONTRIBUTION_LABEL) + params.digest + i2osp(dealer, 1) + contribution).digest()


def abscissa_check(deployment_id: bytes, abscissa_key: bytes) -> bytes:
    """SHA-256(lp2(label) ‖ lp2(deployment_id) ‖ key): published, so a key server that receives the
    abscissa key in a renewal can tell the true one. The key is 32 uniform bytes, so its hash gives
    nothing away."""
    return hashlib.sha256(lp2(_ABSCISSA_CHECK_LABEL) + lp2(deployment_id) + abscissa_key).digest()


def _plaintext_bytes(params: Parameters) -> int:
    return params.coefficients * SCALAR_BYTES + ristretto.SCALAR_BYTES + CONTRIBUTION_BYTES


def _encode_plaintext(values: Sequence[Scalar], oprf_value: int, contribution: bytes) -> bytes:
    return b"".join(v.to_bytes() for v in values) + ristretto.scalar_from_int(oprf_value) + contribution


def _decode_plaintext(params: Parameters, data: bytes) -> tuple[tuple[Scalar, ...], int, bytes]:
    """(f_k(j) for k < m; the VOPRF key polynomial's value; the abscissa-key part)."""
    m = params.coefficients
    if len(data) != _plaintext_bytes(params):
        raise InvalidInput(_("DKG share plaintext has the wrong length"))
    values = tuple(Scalar.from_bytes(data[k * SCALAR_BYTES : (k + 1) * SCALAR_BYTES], allow_zero=True)
                   for k in range(m))
    at = m * SCALAR_BYTES
    oprf_value = ristretto.scalar_to_int(data[at : at + ristretto.SCALAR_BYTES])
    return values, oprf_value, data[at + ristretto.SCALAR_BYTES :]


# -- ristretto255, for the VOPRF key's polynomial ----------------------------------------------------
# libsodium refuses the identity as an operand or result of a scalar multiplication; a renewal's
# implicit constant term is the identity, so these helpers let it through as the all-zero encoding.


def _r_times(k: int, point: bytes) -> bytes:
    k %= ristretto.ORDER
    if k == 0 or point == _R_IDENTITY:
        return _R_IDENTITY
    return ristretto.scalar_mult(ristretto.scalar_from_int(k), point)


def _r_base(k: int) -> bytes:
    k %= ristretto.ORDER
    return _R_IDENTITY if k == 0 else ristretto.scalar_mult_base(ristretto.scalar_from_int(k))


def _r_sum(points: Sequence[bytes]) -> bytes:
    total = _R_IDENTITY
    for p in points:
        total = ristretto.element_add(total, p)
    return total


def _r_expected(row: Sequence[bytes], x: int) -> bytes:
    return _r_sum([_r_times(pow(x, ell, ristretto.ORDER), a) for ell, a in enumerate(row)])


def _r_lagrange(xs: Sequence[int]) -> list[int]:
    """Lagrange coefficients at 0 modulo ristretto255's order (BLS12-381's r is another prime), in xs' order."""
    coefficients = shamir.lagrange_at_zero(xs)
    return [coefficients[i] for i in xs]


# -- messages --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Deal:
    dealer: int
    #: [k][l], l < t; in a renewal A_{k,0} is not sent but implied (the identity, or Y_k(dealer))
    commitments: tuple[tuple[G2Point, ...], ...]
    #: the VOPRF key polynomial's commitments R_l = b_l·G (ristretto255), completed the same way
    oprf_commitments: tuple[bytes, ...]
    contribution_hash: bytes
    ciphertexts: tuple[bytes, ...]  # [j - 1]
    digest: bytes
    raw: bytes


@dataclass(frozen=True)
class Complaint:
    complainant: int
    dealer: int
    deal_digest: bytes
    reason: int
    raw: bytes


@dataclass(frozen=True)
class Answer:
    dealer: int
    complainant: int
    deal_digest: bytes
    plaintext: bytes
    raw: bytes


Message = Deal | Complaint | Answer


@dataclass(frozen=True)
class Confirmation:
    """Round 4: key server ``author`` finalized on the board whose transcript digest is ``transcript``."""

    author: int
    transcript: bytes
    qualified: tuple[int, ...]
    raw: bytes
    #: :func:`commitments_digest` of the public commitments the run produced, so that whoever publishes
    #: them (the administrator) cannot pair the confirmations with commitments of another run
    commitments: bytes = b""
    #: :func:`abscissa_check` of the abscissa key it holds (also inside ``commitments``; here so that the
    #: administrator can publish it: it is not computable from the board)
    abscissa_check: bytes = b""


@dataclass(frozen=True)
class HeldShares:
    """A key server's shares of the result being renewed: what it deals from, or refreshes."""

    index: int  # its index in the previous set
    shares: Mapping[int, tuple[Scalar, ...]]
    oprf_share: bytes
    abscissa_key: bytes

    def __repr__(self) -> str:
        return f"HeldShares(index={self.index}, <hidden>)"


@dataclass(frozen=True)
class DealerSeed:
    """What a dealer keeps from round 1 until the run ends (then erases): 32 random bytes."""

    seed: bytes

    @classmethod
    def fresh(cls) -> DealerSeed:
        return cls(secrets.token_bytes(SEED_BYTES))

    def __repr__(self) -> str:
        return "DealerSeed(<hidden>)"


def _polynomials(params: Parameters, seed: DealerSeed, dealer: int,
                 held: HeldShares | None = None) -> tuple[list[list[Scalar]], list[int], bytes]:
    """(b_{k,l} for k < m, l < t; the VOPRF polynomial's coefficients; the abscissa-key part).

    Derived from the seed, nonzero (so every commitment encodes). In a renewal the constant terms
    are not random: zero for a refresh, the dealer's own shares for a resharing, and the part sent
    for the abscissa key is the key itself.
    """
    if len(seed.seed) != SEED_BYTES:
        raise InvalidInput(_("a dealer seed is {SEED_BYTES} bytes", SEED_BYTES=SEED_BYTES))
    base = seed.seed + params.digest + i2osp(dealer, 1)
    out = []
    for k in range(params.coefficients):
        row = []
        for ell in range(params.threshold):
            counter = 0
            while True:
                b = hash_to_scalar(base + i2osp(k, 2) + i2osp(ell, 1) + i2osp(counter, 1), _POLY_DST)
                if not b.is_zero():
                    break
                counter += 1  # probability 1/r
            row.append(b)
        out.append(row)
    oprf_row = []
    for ell in range(params.threshold):
        counter = 0
        while True:
            wide = hashlib.sha512(lp2(_OPRF_POLY_LABEL) + base + i2osp(ell, 1) + i2osp(counter, 1)).digest()
            b_r = ristretto.scalar_to_int(ristretto.scalar_reduce64(wide))
            if b_r:
                break
            counter += 1
        oprf_row.append(b_r)
    if params.kind == GENERATE:
        return out, oprf_row, kdf.derive(seed.seed, _CONTRIBUTION_SEED_LABEL, params.digest + i2osp(dealer, 1),
                                         CONTRIBUTION_BYTES)
    if held is None or held.index != dealer:
        raise InvalidInput(_("key server {dealer} deals in a renewal only from its own shares of the previous "
                             "result", dealer=dealer))
    flat = [s for q in params.levels for s in held.shares[q]]
    for k, row in enumerate(out):
        row[0] = Scalar(0) if params.kind == REFRESH else flat[k]
    oprf_row[0] = 0 if params.kind == REFRESH else ristretto.scalar_to_int(held.oprf_share)
    return out, oprf_row, held.abscissa_key


def _check_held(params: Parameters, index: int, held: HeldShares | None, *, refreshing: bool = False) -> HeldShares:
    """HELD, if they are key server INDEX's shares of the result this run renews (matching its published
    commitments, VOPRF public share and abscissa check); InvalidInput else, before anything is dealt."""
    prev = params.previous
    assert prev is not None  # params.dealer() / the caller needed it
    if held is None or held.index != index:
        raise InvalidInput(_("key server {index} deals in a renewal only from its own shares of the previous result",
                             index=index))
    if index not in prev.flat:
        raise InvalidInput(_("key server {index} holds no shares of the result this run renews", index=index))
    own, own_oprf = prev.flat[index]
    try:
        flat = [s for q in params.levels for s in held.shares[q]]
        oprf = ristretto.scalar_to_int(held.oprf_share)
    except (KeyError, InvalidInput):
        flat, oprf = [], 0
    g2 = G2Point.generator()
    if (len(flat) != len(own) or any((g2.mul_secret(s) if not s.is_zero() else G2Point.identity()) != c
                                     for s, c in zip(flat, own, strict=False))
            or _r_base(oprf) != own_oprf
            or abscissa_check(params.deployment_id, held.abscissa_key) != prev.abscissa_check):
        if refreshing:
            raise InvalidInput(_("key server {index}'s stored shares do not match the published result this run "
                                 "renews (its commitments, VOPRF public share or abscissa check): nothing was "
                                 "refreshed; restore the shares that were confirmed, or have this key server rebuilt "
                                 "by resharing", index=index))
        raise InvalidInput(_("key server {index}'s stored shares do not match the published result this run renews "
                             "(its commitments, VOPRF public share or abscissa check): nothing was dealt; restore "
                             "the shares that were confirmed, or have this key server rebuilt by resharing",
                             index=index))
    return held


def _evaluate(row: Sequence[Scalar], x: int) -> Scalar:
    acc = Scalar(0)
    for b in reversed(row):
        acc = acc * Scalar(x) + b
    return acc


def _r_evaluate(row: Sequence[int], x: int) -> int:
    acc = 0
    for b in reversed(row):
        acc = (acc * x + b) % ristretto.ORDER
    return acc


def _plaintext_for(params: Parameters, recipient: int,
                   polys: tuple[list[list[Scalar]], list[int], bytes]) -> bytes:
    rows, oprf_row, contribution = polys
    return _encode_plaintext([_evaluate(row, recipient) for row in rows], _r_evaluate(oprf_row, recipient),
                             contribution)


def deal(params: Parameters, dealer: int, identity_private: bytes, seed: DealerSeed,
         held: HeldShares | None = None) -> bytes:
    """Round 1: the signed deal of key server DEALER (module docstring for its bytes); ``held``: its
    shares of the previous result, needed in a renewal."""
    author = params.dealer(dealer)
    if params.kind != GENERATE:
        _check_held(params, dealer, held)
    polys = _polynomials(params, seed, dealer, held)
    rows, oprf_row, contribution = polys
    first = 0 if params.kind == GENERATE else 1  # a renewal's constant terms are implied
    g2 = G2Point.generator()
    body = params.header(DEAL_LABEL, dealer) + i2osp(params.coefficients, 2) + i2osp(params.threshold, 1)
    body += b"".join(g2.mul_secret(b).to_bytes() for row in rows for b in row[first:])
    body += b"".join(_r_base(b) for b in oprf_row[first:])
    body += _contribution_hash(params, dealer, contribution) + i2osp(params.n, 1)
    for p in params.participants:
        ct = hpke.seal(p.hpke_public_key, _plaintext_for(params, p.index, polys), params.share_info(dealer, p.index))
        body += i2osp(p.index, 1) + i2osp(len(ct), 4) + ct
    return _sign(body, identity_private, author)


def complain(params: Parameters, complainant: int, identity_private: bytes, dealer: int, deal_digest: bytes,
             reason: int) -> bytes:
    """Round 2: a signed complaint against DEALER's deal (digest zeros for NOTHING_BY_DEADLINE)."""
    if reason not in REASONS or (params.kind == GENERATE and dealer == complainant) or len(deal_digest) != DIGEST_BYTES:
        raise InvalidInput(_("malformed complaint"))
    params.dealer(dealer)
    body = params.header(COMPLAINT_LABEL, complainant) + i2osp(dealer, 1) + deal_digest + i2osp(reason, 1)
    return _sign(body, identity_private, params.participant(complainant))


def answer(params: Parameters, dealer: int, identity_private: bytes, seed: DealerSeed,
           messages: Sequence[bytes], held: HeldShares | None = None) -> list[bytes]:
    """Round 2's reply: one signed answer per complaint against this dealer's own deal on the board.

    Reveals each complainant's values. Reveals nothing (returns []) if t or
    more key servers complained: the dealer is disqualified anyway, and
    answering would publish t shares of its polynomials.
    """
    parsed = _accepted(params, messages)[0]
    own = [m for m in parsed if isinstance(m, Deal) and m.dealer == dealer]
    if len({d.digest for d in own}) != 1:
        return []
    digest = own[0].digest
    complainants = sorted({m.complainant for m in parsed if isinstance(m, Complaint) and m.dealer == dealer
                           and m.deal_digest == digest})
    if len(complainants) >= params.threshold:
        return []
    polys = _polynomials(params, seed, dealer, held)
    out = []
    for j in complainants:
        body = params.header(ANSWER_LABEL, dealer) + i2osp(j, 1) + digest + _plaintext_for(params, j, polys)
        out.append(_sign(body, identity_private, params.dealer(dealer)))
    return out


def parse(params: Parameters, data: bytes) -> Message | Confirmation:
    """Decode one board message and check its signature; InvalidInput / VerificationError if refused.

    Parsing is a pure function of (parameters, bytes), and what it returns is
    immutable, so messages that parsed are kept in a small LRU cache: a key
    server parses the board in every round, and decoding (with subgroup
    checks) a deal's m·t G2 commitments is most of the cost. Refused messages
    are not cached (they are parsed again, and refused again).
    """
    if not isinstance(data, bytes) or len(data) < SIGNATURE_BYTES:
        raise InvalidInput(_("DKG message too short"))
    # Parameters compare without ``previous`` (the digest covers only its commitments digest), but who may
    # sign deals and what a renewal deal's implied commitments are come from it: it is part of the key.
    return _parse_cached(params, params.previous, data)


@lru_cache(maxsize=512)
def _parse_cached(params: Parameters, previous: Previous | None, data: bytes) -> Message | Confirmation:
    body, signature = data[:-SIGNATURE_BYTES], data[-SIGNATURE_BYTES:]
    r = _Reader(body)
    label = r.lp2()
    if label not in (DEAL_LABEL, COMPLAINT_LABEL, ANSWER_LABEL, CONFIRM_LABEL):
        raise InvalidInput(_("not a consilience-v2 DKG message (unknown label)"))
    if r.lp2() != params.deployment_id or r.int(8) != params.epoch or r.take(DIGEST_BYTES) != params.digest:
        raise InvalidInput(_("DKG message for another deployment, epoch or set of parameters"))
    author = r.int(1)
    signer = params.dealer(author) if label in (DEAL_LABEL, ANSWER_LABEL) else params.participant(author)
    signing.verify(signer.identity_key, body, signature)
    try:
        return _parse_body(params, r, label, author, body, data)
    except InvalidInput as exc:
        raise MalformedMessage(author, label, _("key server {author}'s {label_decode}: {exc}",
                                                author=author, label_decode=label.decode(), exc=exc)) from None


def _parse_body(params: Parameters, r: _Reader, label: bytes, author: int, body: bytes,
                data: bytes) -> Message | Confirmation:
    if label == DEAL_LABEL:
        return _parse_deal(params, r, author, body, data)
    if label == CONFIRM_LABEL:
        transcript = r.take(DIGEST_BYTES)
        qualified = tuple(r.take(r.int(1)))
        commitments = r.take(DIGEST_BYTES)
        check = r.take(DIGEST_BYTES)
        r.end()
        if not qualified or list(qualified) != sorted(set(qualified)) or qualified[0] < 1 or (
                params.kind == GENERATE and qualified[-1] > params.n):
            raise InvalidInput(_("qualified set not 1 to n distinct indices in increasing order"))
        return Confirmation(author, transcript, qualified, data, commitments, check)
    if label == COMPLAINT_LABEL:
        dealer, digest, reason = r.int(1), r.take(DIGEST_BYTES), r.int(1)
        r.end()
        params.dealer(dealer)
        if reason not in REASONS or (params.kind == GENERATE and dealer == author):
            raise InvalidInput(_("malformed complaint"))
        return Complaint(author, dealer, digest, reason, data)
    complainant, digest = r.int(1), r.take(DIGEST_BYTES)
    plaintext = r.take(_plaintext_bytes(params))
    r.end()
    params.participant(complainant)
    _decode_plaintext(params, plaintext)
    return Answer(author, complainant, digest, plaintext, data)


def _parse_deal(params: Parameters, r: _Reader, dealer: int, body: bytes, data: bytes) -> Deal:
    m, t = r.int(2), r.int(1)
    if m != params.coefficients or t != params.threshold:
        raise InvalidInput(_("commitments for {m} coefficients of {t} terms, expected {coefficients} of {threshold}",
                             m=m, t=t, coefficients=params.coefficients, threshold=params.threshold))
    first = 0 if params.kind == GENERATE else 1
    sent = tuple(tuple(G2Point.from_bytes(r.take(G2_BYTES)) for _unused in range(first, t))
                 for _unused in range(m))
    oprf_sent = tuple(ristretto.check_element(r.take(ristretto.ELEMENT_BYTES)) for _unused in range(first, t))
    contribution_hash = r.take(DIGEST_BYTES)
    if params.kind == GENERATE:
        commitments, oprf_commitments = sent, oprf_sent
    else:  # complete the rows with the implied constant terms
        prev = params.previous
        assert prev is not None  # params.dealer() above needed it
        if contribution_hash != prev.abscissa_check:
            raise InvalidInput(_("the abscissa key it sends is not the published one"))
        if params.kind == REFRESH:
            commitments = tuple((G2Point.identity(), *row) for row in sent)
            oprf_commitments = (_R_IDENTITY, *oprf_sent)
        else:
            own, own_oprf = prev.flat[dealer]
            commitments = tuple((own[k], *row) for k, row in enumerate(sent))
            oprf_commitments = (own_oprf, *oprf_sent)
    if r.int(1) != params.n:
        raise InvalidInput(_("wrong number of ciphertexts"))
    cts = []
    for j in range(1, params.n + 1):
        if r.int(1) != j:
            raise InvalidInput(_("ciphertexts out of order"))
        cts.append(r.take(r.int(4)))
    r.end()
    digest = hashlib.sha256(lp2(_DIGEST_LABEL) + body).digest()
    return Deal(dealer, commitments, oprf_commitments, contribution_hash, tuple(cts), digest, data)


# -- verification ----------------------------------------------------------------------------------


def _batch_coefficients(deal_: Deal, recipient: int, plaintext: bytes, m: int) -> list[Scalar]:
    stream = hashlib.shake_256(lp2(_BATCH_LABEL) + deal_.digest + i2osp(recipient, 1) + plaintext)
    raw = stream.digest(_BATCH_BYTES * m)
    return [Scalar(int.from_bytes(raw[k * _BATCH_BYTES : (k + 1) * _BATCH_BYTES], "big")) for k in range(m)]


def _expected(row: Sequence[G2Point], x: int) -> G2Point:
    return G2Point.msm_public(row, [Scalar(pow(x, ell)) for ell in range(len(row))])


_VERIFIED_MAX = 4096
_verified: OrderedDict[bytes, None] = OrderedDict()
_verified_lock = threading.Lock()


def _verified_key(params: Parameters, deal_: Deal, recipient: int, plaintext: bytes) -> bytes:
    return hashlib.sha256(lp2(b"consilience-v2 dkg verified") + params.digest + deal_.digest
                          + i2osp(recipient, 1) + plaintext).digest()


def clear_caches() -> None:
    """Forget parsed messages and verified-share digests (e.g. when a run ends)."""
    _parse_cached.cache_clear()
    with _verified_lock:
        _verified.clear()


def check_values(params: Parameters, deal_: Deal, recipient: int, plaintext: bytes) -> list[str]:
    """What is wrong with these revealed or decrypted values for RECIPIENT ([] if they verify).

    One random linear combination over every coefficient; per coefficient
    only on failure, to name what is wrong. A success is remembered (a
    bounded set of SHA-256 digests of parameters, deal digest, recipient and
    plaintext: no share value is kept), so the same values are not checked
    again in :func:`finalize`; a failure is always recomputed.
    """
    key = _verified_key(params, deal_, recipient, plaintext)
    with _verified_lock:
        if key in _verified:
            _verified.move_to_end(key)
            return []
    problems = _check_values(params, deal_, recipient, plaintext)
    if not problems:
        with _verified_lock:
            _verified[key] = None
            while len(_verified) > _VERIFIED_MAX:
                _verified.popitem(last=False)
    return problems


def _check_values(params: Parameters, deal_: Deal, recipient: int, plaintext: bytes) -> list[str]:
    try:
        values, oprf_value, contribution = _decode_plaintext(params, plaintext)
    except InvalidInput as exc:
        return [str(exc)]
    problems = []
    if _contribution_hash(params, deal_.dealer, contribution) != deal_.contribution_hash:
        problems.append(_(_CONTRIBUTION_MISMATCH))
    if _r_base(oprf_value) != _r_expected(deal_.oprf_commitments, recipient):
        problems.append(_("share of the VOPRF key does not match the commitments"))
    m, t = params.coefficients, params.threshold
    rho = _batch_coefficients(deal_, recipient, plaintext, m)
    powers = [Scalar(pow(recipient, ell)) for ell in range(t)]
    combined = Scalar(0)
    for k in range(m):
        combined = combined + rho[k] * values[k]
    points = [a for row in deal_.commitments for a in row]
    scalars = [rho[k] * powers[ell] for k in range(m) for ell in range(t)]
    rhs = G2Point.msm_public(points, scalars)
    lhs = G2Point.generator().mul_secret(combined) if not combined.is_zero() else G2Point.identity()
    if lhs != rhs:
        g2 = G2Point.generator()
        named = 0
        for k in range(m):
            got = g2.mul_secret(values[k]) if not values[k].is_zero() else G2Point.identity()
            if got != _expected(deal_.commitments[k], recipient):
                q = max(q for q in params.levels if params.offset(q) <= k)
                problems.append(_("share of coefficient {coefficient} of level {q} does not match the commitments",
                                  coefficient=k - params.offset(q), q=q))
                named += 1
        if not named:  # cannot happen: the combination fails only if some coefficient does
            problems.append(_("shares do not match the commitments"))
    return problems


@dataclass(frozen=True)
class DealCheck:
    """A recipient's verdict on one deal: the values, or the complaint reason and what is wrong."""

    dealer: int
    deal_digest: bytes
    plaintext: bytes | None
    reason: int | None
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.reason is None


def verify_deal(params: Parameters, recipient: int, hpke_private: bytes, deal_: Deal) -> DealCheck:
    """Open RECIPIENT's ciphertext in a (signature-checked) deal and check it against the commitments."""
    ct = deal_.ciphertexts[recipient - 1]
    try:
        plaintext = hpke.open(hpke_private, ct, params.share_info(deal_.dealer, recipient))
    except DecryptionError:
        return DealCheck(deal_.dealer, deal_.digest, None, CANNOT_OPEN, (_("the ciphertext does not open"),))
    problems = check_values(params, deal_, recipient, plaintext)
    if not problems:
        return DealCheck(deal_.dealer, deal_.digest, plaintext, None, ())
    reason = BAD_CONTRIBUTION if all(p == _(_CONTRIBUTION_MISMATCH) for p in problems) else BAD_SHARES
    return DealCheck(deal_.dealer, deal_.digest, None, reason, tuple(problems))


def complaints_for(params: Parameters, recipient: int, identity_private: bytes, hpke_private: bytes,
                   messages: Sequence[bytes]) -> list[bytes]:
    """Round 2 for one key server: a signed complaint for every dealer whose deal fails its checks,
    and a (recorded, inconsequential) one for every dealer with no deal on the board."""
    parsed, _unused = _accepted(params, messages)
    deals: dict[int, list[Deal]] = {}
    for msg in parsed:
        if isinstance(msg, Deal):
            deals.setdefault(msg.dealer, []).append(msg)
    out = []
    for p in params.dealers:
        if params.kind == GENERATE and p.index == recipient:
            continue
        found = deals.get(p.index, [])
        if not found:
            out.append(complain(params, recipient, identity_private, p.index, _NO_DIGEST, NOTHING_BY_DEADLINE))
        elif len(found) == 1:
            check = verify_deal(params, recipient, hpke_private, found[0])
            if check.reason is not None:
                out.append(complain(params, recipient, identity_private, p.index, found[0].digest, check.reason))
    return out


# -- qualification ---------------------------------------------------------------------------------


def _accepted(params: Parameters, messages: Sequence[bytes],
              malformed_deals: dict[int, str] | None = None) -> tuple[list[Message], list[str]]:
    """Distinct messages that decode and verify, in a canonical order; and why the others were refused.

    Deals that are signed by their dealer but malformed go into MALFORMED_DEALS.
    """
    seen: dict[bytes, Message] = {}
    refused = []
    for data in messages:
        key = hashlib.sha256(data).digest()
        if key in seen:
            continue  # a duplicate from the relay
        try:
            msg = parse(params, data)
            if not isinstance(msg, Confirmation):  # round 4 reads those; they are not part of the transcript
                seen[key] = msg
        except MalformedMessage as exc:
            refused.append(str(exc))
            if exc.label == DEAL_LABEL and malformed_deals is not None:
                malformed_deals.setdefault(exc.author, str(exc))
        except (InvalidInput, VerificationError) as exc:
            refused.append(str(exc))
    return [seen[k] for k in sorted(seen)], refused


@dataclass(frozen=True)
class Qualification:
    """What anyone who sees the board computes from it."""

    params: Parameters
    qualified: tuple[int, ...]  # the dealers whose deals count
    disqualified: Mapping[int, str]
    refused: tuple[str, ...]  # messages ignored, and why (bad signatures: a relay that tampered)
    deals: Mapping[int, Deal]  # the qualified dealers' deals
    answers: Mapping[tuple[int, int], bytes]  # (dealer, complainant) -> revealed plaintext
    #: the new sharing polynomials' commitments, [k][l]: Σ_{i∈QUAL} A_{i,k,l} (generate, refresh; a refresh's
    #: are the added polynomials') or Σ λ_i·A_{i,k,l} (resharing, Lagrange over QUAL)
    aggregate: tuple[tuple[G2Point, ...], ...]
    oprf_aggregate: tuple[bytes, ...]
    transcript: bytes
    #: computed commitments, kept (the object is immutable; decoding and multi-scalar sums are not cheap)
    _memo: dict[object, object] = field(default_factory=dict, compare=False, repr=False)

    @property
    def holders(self) -> tuple[int, ...]:
        """Who holds shares of the result: QUAL when generating (the others dealt nothing that counts
        and their own finalize refuses), every participant when renewing."""
        if self.params.kind == GENERATE:
            return self.qualified
        return tuple(p.index for p in self.params.participants)

    @property
    def master(self) -> dict[int, tuple[G2Point, ...]]:
        """C_{q,j} = a_{q,j}·G2 for every level: exactly q per level (a renewal keeps them)."""
        p = self.params
        if p.kind == GENERATE:
            flat = tuple(row[0] for row in self.aggregate)
        else:
            assert p.previous is not None
            flat = p.previous.master_flat
        return {q: tuple(flat[p.offset(q) : p.offset(q) + q]) for q in p.levels}

    @property
    def oprf_public_key(self) -> bytes:
        p = self.params
        if p.kind == GENERATE:
            return self.oprf_aggregate[0]
        assert p.previous is not None
        return p.previous.oprf_public_key

    def commitments_digest(self, abscissa_check_: bytes) -> bytes:
        """:func:`commitments_digest` of :attr:`master`, every holder's commitments and the abscissa check."""
        return _commitments_digest_cached(self, abscissa_check_)

    def _flat_server(self, index: int) -> tuple[G2Point, ...]:
        p = self.params
        p.participant(index)
        own = tuple(_expected(row, index) for row in self.aggregate)
        if p.kind == REFRESH:
            assert p.previous is not None
            before = p.previous.flat[index][0]
            own = tuple(a + b for a, b in zip(before, own, strict=True))
        return own

    def server_commitments(self, index: int) -> dict[int, tuple[G2Point, ...]]:
        """Commitments to key server INDEX's shares of every coefficient: Y_{q,j}(index)."""
        flat = _server_flat_cached(self, index)
        return {q: tuple(flat[self.params.offset(q) : self.params.offset(q) + q]) for q in self.params.levels}

    def oprf_public_share(self, index: int) -> bytes:
        """Key server INDEX's VOPRF public share k_index·G."""
        self.params.participant(index)
        own = _r_expected(self.oprf_aggregate, index)
        if self.params.kind == REFRESH:
            assert self.params.previous is not None
            own = ristretto.element_add(self.params.previous.flat[index][1], own)
        return own


def _server_flat_cached(qual: Qualification, index: int) -> tuple[G2Point, ...]:
    key = ("server", index)
    if key not in qual._memo:
        qual._memo[key] = qual._flat_server(index)
    return cast("tuple[G2Point, ...]", qual._memo[key])


def _commitments_digest_cached(qual: Qualification, check: bytes) -> bytes:
    key = ("digest", check)
    if key not in qual._memo:
        qual._memo[key] = _commitments_digest(qual, check)
    return cast(bytes, qual._memo[key])


def _commitments_digest(qual: Qualification, check: bytes) -> bytes:
    return commitments_digest(
        {q: [c.to_bytes() for c in cs] for q, cs in qual.master.items()},
        {i: {q: [c.to_bytes() for c in cs] for q, cs in qual.server_commitments(i).items()} for i in qual.holders},
        qual.oprf_public_key, {i: qual.oprf_public_share(i) for i in qual.holders}, check)


def qualify(params: Parameters, messages: Sequence[bytes]) -> Qualification:
    """The qualified set and public commitments: deterministic in the set of board messages.

    Raises DkgFailed if fewer than t dealers qualify (when renewing: the previous t, so that the
    previous shares can be interpolated).
    """
    malformed: dict[int, str] = {}
    parsed, refused = _accepted(params, messages, malformed)
    deals: dict[int, list[Deal]] = {}
    for msg in parsed:
        if isinstance(msg, Deal):
            deals.setdefault(msg.dealer, []).append(msg)
    disqualified: dict[int, str] = {}
    chosen: dict[int, Deal] = {}
    for p in params.dealers:
        found = deals.get(p.index, [])
        if p.index in malformed:
            disqualified[p.index] = _("malformed deal ({why})", why=malformed[p.index])
        elif not found:
            disqualified[p.index] = _("no valid deal on the board (nothing by the deadline, or refused)")
        elif len(found) > 1:
            disqualified[p.index] = _("signed two different deals")
        else:
            chosen[p.index] = found[0]
    complainants: dict[int, set[int]] = {}
    for msg in parsed:
        if isinstance(msg, Complaint) and msg.dealer in chosen and msg.deal_digest == chosen[msg.dealer].digest:
            complainants.setdefault(msg.dealer, set()).add(msg.complainant)
    revealed: dict[tuple[int, int], bytes] = {}
    for msg in parsed:
        if (isinstance(msg, Answer) and msg.dealer in chosen and msg.complainant in complainants.get(msg.dealer, ())
                and msg.deal_digest == chosen[msg.dealer].digest and (msg.dealer, msg.complainant) not in revealed
                and not check_values(params, chosen[msg.dealer], msg.complainant, msg.plaintext)):
            revealed[(msg.dealer, msg.complainant)] = msg.plaintext
    for dealer in sorted(chosen):
        against = sorted(complainants.get(dealer, set()))
        if len(against) >= params.threshold:
            disqualified[dealer] = _n("{n} key servers complained (threshold {threshold})",
                                      "{n} key servers complained (threshold {threshold})", len(against),
                                      threshold=params.threshold)
        else:
            missing = [j for j in against if (dealer, j) not in revealed]
            if missing:
                disqualified[dealer] = _("no valid answer to the complaint of key server(s) {missing}",
                                         missing=", ".join(map(str, missing)))
    for dealer in disqualified:
        chosen.pop(dealer, None)
    qualified = tuple(sorted(chosen))
    needed = params.dealer_threshold
    if len(qualified) < needed:
        why = "; ".join(f"{i}: {why}" for i, why in sorted(disqualified.items()))
        if params.kind == GENERATE:
            raise DkgFailed(_n("only {n} dealers qualified, fewer than the threshold {needed}: {why}",
                               "only {n} dealers qualified, fewer than the threshold {needed}: {why}", len(qualified),
                               needed=needed, why=why))
        raise DkgFailed(_n("only {n} dealers qualified, fewer than the threshold {needed} of the result being renewed, "
                           "which is needed to carry its secrets over: {why}. Nothing changed: the renewed result "
                           "stays in use; run the renewal again",
                           "only {n} dealers qualified, fewer than the threshold {needed} of the result being renewed, "
                           "which is needed to carry its secrets over: {why}. Nothing changed: the renewed result "
                           "stays in use; run the renewal again", len(qualified), needed=needed, why=why))
    t, m = params.threshold, params.coefficients
    if params.kind == RESHARE:
        # new share s'(j) = Σ λ_i·g_i(j) with g_i(0) = s(i): the new polynomial Σ λ_i·g_i has the old secret
        # at 0, since Σ λ_i·s(i) = s(0) for any |QUAL| >= t_old points of the old degree t_old−1 polynomial
        lam = lagrange_coefficients([Scalar(i) for i in qualified])
        lam_r = _r_lagrange(qualified)
        aggregate = tuple(tuple(G2Point.msm_public([chosen[i].commitments[k][ell] for i in qualified], lam)
                                for ell in range(t)) for k in range(m))
        oprf_aggregate = tuple(_r_sum([_r_times(w, chosen[i].oprf_commitments[ell]) for i, w in zip(
            qualified, lam_r, strict=True)]) for ell in range(t))
        assert params.previous is not None
        if tuple(row[0] for row in aggregate) != params.previous.master_flat or (
                oprf_aggregate[0] != params.previous.oprf_public_key):
            raise DkgFailed(_("the previous result's published commitments are inconsistent (its key servers' "
                              "commitments do not interpolate to its master commitments): check the deployment "
                              "document this run was started from; nothing was reshared"))
    else:
        aggregate = tuple(tuple(G2Point.sum([chosen[i].commitments[k][ell] for i in qualified])
                                for ell in range(t)) for k in range(m))
        oprf_aggregate = tuple(_r_sum([chosen[i].oprf_commitments[ell] for i in qualified]) for ell in range(t))
    if params.kind == GENERATE:
        for q in params.levels:
            if aggregate[params.offset(q) + q - 1][0].is_identity():
                raise DkgFailed(_("the leading coefficient of level {q} is zero", q=q))
        if oprf_aggregate[0] == _R_IDENTITY:
            raise DkgFailed(_("the VOPRF key is zero"))
    # "Nothing by the deadline" complaints change nothing, and each recipient posts them when its own
    # deal deadline passes, which may be after the others finalized (a key server that started later):
    # they stay out of the transcript, so that they cannot make honest servers confirm different ones.
    transcript = hashlib.sha256(lp2(_TRANSCRIPT_LABEL) + b"".join(
        sorted(hashlib.sha256(m.raw).digest() for m in parsed
               if not (isinstance(m, Complaint) and m.reason == NOTHING_BY_DEADLINE)))).digest()
    return Qualification(params, qualified, disqualified, tuple(sorted(refused)), chosen,
                         {k: v for k, v in revealed.items() if k[0] in chosen}, aggregate, oprf_aggregate,
                         transcript)


# -- the result --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyServerResult:
    """What key server ``index`` keeps: its shares, the abscissa key; the rest is public."""

    index: int
    qualification: Qualification
    shares: Mapping[int, tuple[Scalar, ...]]  # {q: (s_{q,0}(index), …)}
    abscissa_key: bytes
    oprf_share: bytes = b""  # its share of the VOPRF key, a ristretto255 scalar

    @property
    def qualified(self) -> tuple[int, ...]:
        return self.qualification.qualified

    @property
    def master(self) -> dict[int, tuple[G2Point, ...]]:
        return self.qualification.master

    @property
    def transcript(self) -> bytes:
        return self.qualification.transcript

    @property
    def abscissa_check(self) -> bytes:
        return abscissa_check(self.qualification.params.deployment_id, self.abscissa_key)

    @property
    def commitments_digest(self) -> bytes:
        return self.qualification.commitments_digest(self.abscissa_check)

    def held(self) -> HeldShares:
        """These shares as the next renewal deals from or refreshes them."""
        return HeldShares(self.index, self.shares, self.oprf_share, self.abscissa_key)

    def __repr__(self) -> str:
        return f"KeyServerResult(index={self.index}, qualified={self.qualified}, <shares hidden>)"


def finalize(params: Parameters, index: int, hpke_private: bytes, messages: Sequence[bytes],
             held: HeldShares | None = None) -> KeyServerResult:
    """Key server INDEX's shares, the abscissa key and the public commitments, from the final board.

    ``held``: in a refresh, this server's shares of the previous result (the new ones are those plus
    the shares of zero it received).
    """
    qual = qualify(params, messages)
    if params.kind == GENERATE and index not in qual.qualified:
        raise DkgFailed(_("key server {index}'s own deal did not qualify "
                          "({why}): run the DKG again",
                          index=index, why=qual.disqualified.get(index, _("unknown reason"))))
    if params.kind == REFRESH:
        if held is None or held.index != index:
            raise DkgFailed(_("key server {index} holds no shares of the previous result to refresh; a key server "
                              "that lost its shares is rebuilt by resharing", index=index))
        try:
            _check_held(params, index, held, refreshing=True)
        except InvalidInput as exc:
            raise DkgFailed(str(exc)) from None
    m = params.coefficients
    received: list[tuple[tuple[Scalar, ...], int, bytes]] = []
    for dealer in qual.qualified:
        d = qual.deals[dealer]
        plaintext = qual.answers.get((dealer, index))
        if plaintext is None:
            check = verify_deal(params, index, hpke_private, d)
            if check.plaintext is None:
                raise DkgFailed(_("the deal of key server {dealer} does not verify for key server {index} and no "
                                  "complaint of ours is on the board: {problems}",
                                  dealer=dealer, index=index, problems="; ".join(check.problems)))
            plaintext = check.plaintext
        received.append(_decode_plaintext(params, plaintext))
    if params.kind == RESHARE:
        lam = lagrange_coefficients([Scalar(i) for i in qual.qualified])
        lam_r = _r_lagrange(qual.qualified)
        totals = [Scalar(0)] * m
        oprf_total = 0
        for w, w_r, (values, oprf_value, _unused) in zip(lam, lam_r, received, strict=True):
            totals = [a + w * b for a, b in zip(totals, values, strict=True)]
            oprf_total = (oprf_total + w_r * oprf_value) % ristretto.ORDER
    else:
        if params.kind == REFRESH:
            assert held is not None
            totals = [s for q in params.levels for s in held.shares[q]]
            oprf_total = ristretto.scalar_to_int(held.oprf_share)
        else:
            totals, oprf_total = [Scalar(0)] * m, 0
        for values, oprf_value, _unused in received:
            totals = [a + b for a, b in zip(totals, values, strict=True)]
            oprf_total = (oprf_total + oprf_value) % ristretto.ORDER
    own = qual.server_commitments(index)
    g2 = G2Point.generator()
    for q in params.levels:
        for j in range(q):
            s = totals[params.offset(q) + j]
            if (g2.mul_secret(s) if not s.is_zero() else G2Point.identity()) != own[q][j]:
                raise DkgFailed(_("internal: a summed share does not match its commitment"))
    if oprf_total == 0 or _r_base(oprf_total) != qual.oprf_public_share(index):
        raise DkgFailed(_("internal: the VOPRF key share does not match its commitment"))
    if params.kind == GENERATE:
        context = params.digest + i2osp(len(qual.qualified), 1) + bytes(qual.qualified)
        key = kdf.derive(b"".join(c for _unused1, _unused2, c in received), ABSCISSA_KEY_LABEL, context,
                         ABSCISSA_KEY_BYTES)
    else:
        key = received[0][2]  # every qualified deal's matches the published check
    shares = {q: tuple(totals[params.offset(q) : params.offset(q) + q]) for q in params.levels}
    return KeyServerResult(index, qual, shares, key, ristretto.scalar_from_int(oprf_total))


# -- round 4: transcript confirmation ----------------------------------------------------------------


def confirm(params: Parameters, identity_private: bytes, result: KeyServerResult) -> bytes:
    """Round 4: key server ``result.index``'s signed confirmation of the board it finalized on."""
    if result.qualification.params != params:
        raise InvalidInput(_("this result is of another run"))
    body = (params.header(CONFIRM_LABEL, result.index) + result.transcript
            + i2osp(len(result.qualified), 1) + bytes(result.qualified) + result.commitments_digest
            + result.abscissa_check)
    return _sign(body, identity_private, params.participant(result.index))


def commitments_digest(levels: Mapping[int, Sequence[bytes]],
                       servers: Mapping[int, Mapping[int, Sequence[bytes]]], oprf_public_key: bytes,
                       oprf_shares: Mapping[int, bytes], abscissa_check_: bytes) -> bytes:
    """SHA-256 over the published result: every level's C_{q,j}, each holder's Y_{q,j}(i) and VOPRF
    public share, the VOPRF public key and the abscissa key's check.

    ``lp2(label) ‖ for q ascending: u8 q ‖ C_{q,0..q−1} ‖ for i ascending: u8 i ‖ for q ascending:
    Y_{q,0..q−1}(i) ‖ oprf_share_i[32] ‖ oprf_public_key[32] ‖ abscissa_check[32]`` with every G2
    point its 96-byte compressed encoding. Confirmations sign it, so a deployment document carrying
    the confirmations can only carry these values.
    """
    if sorted(servers) != sorted(oprf_shares):
        raise InvalidInput(_("every holder has commitments and a VOPRF public share"))
    data = lp2(_COMMITMENTS_LABEL)
    for q in sorted(levels):
        data += i2osp(q, 1) + b"".join(bytes(c) for c in levels[q])
    for i in sorted(servers):
        data += i2osp(i, 1)
        for q in sorted(servers[i]):
            data += b"".join(bytes(c) for c in servers[i][q])
        data += bytes(oprf_shares[i])
    data += bytes(oprf_public_key) + bytes(abscissa_check_)
    return hashlib.sha256(data).digest()


def confirmed(params: Parameters, result: KeyServerResult, messages: Sequence[bytes]) -> KeyServerResult:
    """RESULT, once every qualified key server has confirmed the same transcript; else DkgFailed.

    The rule (module docstring): every key server in QUAL has a validly
    signed confirmation of ``result.transcript`` (and of the same qualified
    set) on the board, and no listed key server, qualified or not, signed a
    confirmation of anything else. Other messages on the board are ignored;
    confirmations that do not parse (bad signature, another deployment,
    epoch or parameters) count as absent. The error names who disagreed
    and who is missing.
    """
    if result.qualification.params != params:
        raise InvalidInput(_("this result is of another run"))
    by_author: dict[int, set[tuple[bytes, tuple[int, ...], bytes, bytes]]] = {}
    refused: list[str] = []
    for data in messages:
        try:
            msg = parse(params, data)
        except (InvalidInput, VerificationError) as exc:
            refused.append(str(exc))
            continue
        if isinstance(msg, Confirmation):
            by_author.setdefault(msg.author, set()).add((msg.transcript, msg.qualified, msg.commitments,
                                                         msg.abscissa_check))
    ours = (result.transcript, result.qualified, result.commitments_digest, result.abscissa_check)
    disagreeing = sorted(a for a, seen in by_author.items() if seen != {ours})
    missing = sorted(j for j in result.qualification.holders if j not in by_author)
    if not disagreeing and not missing:
        return result
    parts = []
    for a in disagreeing:
        others = sorted(by_author[a] - {ours})
        what = "; ".join(_("transcript {digest}… with qualified {qualified}", digest=d.hex()[:16],
                             qualified=", ".join(map(str, q))) for d, q, _unused1, _unused2 in others)
        if ours in by_author[a]:
            parts.append(_("key server {author} confirmed another board: {what} (and ours)", author=a, what=what))
        else:
            parts.append(_("key server {author} confirmed another board: {what}", author=a, what=what))
    if missing:
        parts.append(_("no valid confirmation from qualified key server(s) {missing}",
                       missing=", ".join(map(str, missing))))
    if refused:
        parts.append(_n("{n} board message(s) refused", "{n} board message(s) refused", len(refused)))
    raise DkgFailed(_("key server {index} must not use its shares: {parts} (a relay that showed servers different "
                      "boards, or a server that did not finish)", index=result.index, parts="; ".join(parts)),
                    disagreeing=disagreeing, missing=missing)


__all__ = [
    "ANSWER_LABEL", "BAD_CONTRIBUTION", "BAD_SHARES", "CANNOT_OPEN", "COMPLAINT_LABEL", "CONFIRM_LABEL",
    "DEAL_LABEL", "GENERATE", "KINDS", "NOTHING_BY_DEADLINE", "REFRESH", "RESHARE", "HeldShares", "Previous",
    "abscissa_check", "Answer", "Complaint", "Confirmation", "Deal", "DealCheck", "DealerSeed",
    "DkgFailed", "KeyServerResult", "MalformedMessage", "Message", "Parameters", "Participant", "Qualification",
    "answer", "check_values", "clear_caches", "complain", "complaints_for", "confirm", "confirmed", "deal",
    "commitments_digest", "finalize", "parse", "qualify", "verify_deal",
]
