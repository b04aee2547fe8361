package cn.edl.wallet

import kotlinx.coroutines.runBlocking
import kotlin.test.Test
import kotlin.test.assertContains
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertNull
import kotlin.test.assertTrue

/**
 * The pinned root and the signed lists (D93) against the loopback authority, which signs its
 * trust list with a test root key: a verifier and a wallet pin the root, refresh the trust
 * and status lists, refuse forged and foreign lists with the typed reason, refuse a suspended
 * licence offline, say "status unknown" once the status list is stale, and say "not valid yet" of a licence
 * whose validity begins later (D154).
 */
class PinnedListsTest {
    private val root: String = System.getenv("EDL_ROOT_PUBLIC_KEY") ?: error("EDL_ROOT_PUBLIC_KEY not set")

    /** A valid Ed25519 public key that is not the authority's root (the curve's base point). */
    private val otherRoot: ByteArray = ByteArray(32) { if (it == 0) 0x58 else 0x66 }

    private fun hex(text: String): ByteArray = ByteArray(text.length / 2) { text.substring(2 * it, 2 * it + 2).toInt(16).toByte() }

    /** The lists are public: an offline-only scanner needs no API key to refresh them. */
    private fun online() = OnlineVerifier(Authority.url, "")

    private fun offlineQr(w: Wallet) = w.present(PresentationForm.OFFLINE, Audience.ENFORCEMENT).payload

    private suspend fun issued(validFrom: String = "2018-03-07"): Pair<Wallet, Long> {
        val number = Authority.number()
        val driver = Authority.createDriver(number, photoOnFile = true, validFrom = validFrom)
        val wallet = Wallet(Scratch.dir("pinned"), AesGcmKeyStore())
        try {
            wallet.enrol(Authority.url, number, Authority.activationCode(driver))
            assertEquals(ApplicationPhase.ISSUED, wallet.apply(HmacIdentityProvider()).phase)
        } catch (e: Throwable) {
            wallet.close()
            throw e
        }
        return wallet to driver
    }

    @Test
    fun `a pinned verifier refuses a suspended licence offline after refreshing`() = runBlocking<Unit> {
        val (wallet, driver) = issued()
        wallet.use { w ->
            Verifier.pinnedText(root, Audience.ENFORCEMENT, StaleStatusPolicy.REFUSE).use { police ->
                assertTrue(hex(root).contentEquals(police.rootPublicKey()))
                val none = assertFailsWith<EdlException.ListRefused> { police.verifyOffline(offlineQr(w), w.nowUnix()) }
                assertEquals(ListKind.TRUST_LIST to ListRefusal.NO_LIST, none.list to none.reason)

                val lists = online().use { police.refresh(it, w.nowUnix()) }
                assertTrue(lists.trustList.keys >= 1u)
                assertEquals(lists.statusList, police.statusListInfo())
                assertEquals(StatusCheck.IN_FORCE, police.verifyOffline(offlineQr(w), w.nowUnix()).status)

                // Suspended at the authority; the wallet does not sync, so its QR still carries
                // the credential signed while the licence was in force.
                Authority.call("PUT", "/admin/drivers/$driver/status", """{"status":"D"}""")
                assertEquals(StatusCheck.IN_FORCE, police.verifyOffline(offlineQr(w), w.nowUnix()).status)
                online().use { police.refresh(it, w.nowUnix()) }
                val refused = assertFailsWith<EdlException.Rejected> { police.verifyOffline(offlineQr(w), w.nowUnix()) }
                assertEquals(RejectionReason.ElicenceSuspended, refused.reason)
            }
            // The wallet pins the same root and shows the driver the same answer, offline.
            w.pinRootText(root)
            w.refreshLists()
            assertEquals(OwnStatus.SUSPENDED, w.ownStatus())
            assertTrue(ownStatusText(OwnStatus.SUSPENDED).zh.isNotEmpty())
        }
    }

    @Test
    fun `forged, unsigned and foreign lists are refused with their reason`() = runBlocking<Unit> {
        val (signed, status) = online().use { it.fetchSignedTrustList() to it.fetchStatusList() }
        val now = System.currentTimeMillis().toULong() / 1000u
        Verifier.pinned(hex(root), Audience.ENFORCEMENT, StaleStatusPolicy.ACCEPT).use { police ->
            // A status list cannot be checked before a trust list vouches for its signer.
            val early = assertFailsWith<EdlException.ListRefused> { police.loadStatusList(status, now) }
            assertEquals(ListKind.TRUST_LIST to ListRefusal.NO_LIST, early.list to early.reason)
            // One flipped byte in the keys: the root's signature no longer holds.
            val forged = signed.copyOf().also { it[20] = (it[20].toInt() xor 1).toByte() }
            val bad = assertFailsWith<EdlException.ListRefused> { police.loadTrustList(forged, now) }
            assertEquals(ListKind.TRUST_LIST to ListRefusal.BAD_SIGNATURE, bad.list to bad.reason)
            // The bare list of GET /v1/trust-list carries no root signature.
            val bare = assertFailsWith<EdlException.ListRefused> { police.loadTrustList(Authority.trustList(), now) }
            assertEquals(ListRefusal.UNSIGNED, bare.reason)
            assertNull(police.trustListInfo())

            police.loadTrustList(signed, now)
            val forgedStatus = status.copyOf().also { it[it.size - 1] = (it[it.size - 1].toInt() xor 0x80).toByte() }
            val badStatus = assertFailsWith<EdlException.ListRefused> { police.loadStatusList(forgedStatus, now) }
            assertEquals(ListKind.STATUS_LIST to ListRefusal.BAD_SIGNATURE, badStatus.list to badStatus.reason)
            assertNull(police.statusListInfo())
            police.loadStatusList(status, now)
        }
        // A verifier or a wallet pinned to another root refuses the authority's list.
        Verifier.pinned(otherRoot, Audience.BUSINESS, StaleStatusPolicy.ACCEPT).use { foreign ->
            val e = assertFailsWith<EdlException.ListRefused> { foreign.loadTrustList(signed, now) }
            assertEquals(ListRefusal.BAD_SIGNATURE, e.reason)
        }
        assertFailsWith<EdlException.InvalidArgument> {
            Verifier.pinnedText("not a key", Audience.BUSINESS, StaleStatusPolicy.ACCEPT)
        }
        val (wallet, _) = issued()
        wallet.use { w ->
            assertFailsWith<EdlException.InvalidArgument> { w.refreshLists() }
            w.pinRoot(otherRoot)
            val e = assertFailsWith<EdlException.ListRefused> { w.refreshLists() }
            assertEquals(ListKind.TRUST_LIST to ListRefusal.BAD_SIGNATURE, e.list to e.reason)
            assertEquals(OwnStatus.NOT_CHECKED, w.ownStatus())
        }
    }

    @Test
    fun `a stale status list is status unknown, which the policy decides`() = runBlocking<Unit> {
        val (wallet, _) = issued()
        wallet.use { w ->
            val lenient = Verifier.pinnedText(root, Audience.ENFORCEMENT, StaleStatusPolicy.ACCEPT)
            val strict = Verifier.pinnedText(root, Audience.ENFORCEMENT, StaleStatusPolicy.REFUSE)
            val lists = online().use { lenient.refresh(it, w.nowUnix()) }
            online().use { strict.refresh(it, w.nowUnix()) }
            w.pinRootText(root)
            w.refreshLists()
            assertEquals(OwnStatus.IN_FORCE, w.ownStatus())

            // The test authority's status lists live EDL_STATUS_LIST_TTL (12) seconds.
            val wait = lists.statusList.staleAtUnix.toLong() - w.nowUnix().toLong() + 1
            Thread.sleep(1000 * maxOf(0L, wait))
            val qr = offlineQr(w)
            val verified = lenient.verifyOffline(qr, w.nowUnix())
            assertEquals(StatusCheck.UNKNOWN, verified.status)
            assertContains(statusCheckText(verified.status).en, "check online")
            val e = assertFailsWith<EdlException.Rejected> { strict.verifyOffline(qr, w.nowUnix()) }
            assertEquals(RejectionReason.StatusUnknown, e.reason)
            assertEquals(OwnStatus.UNKNOWN, w.ownStatus())
            lenient.close()
            strict.close()
        }
    }

    @Test
    fun `a licence whose validity begins later is not valid yet offline and in the wallet`() = runBlocking<Unit> {
        // A renewed licence whose period starts later (D153): the authority issues its e-licence now, offline
        // checks refuse it until the first day, and the wallet says not valid yet: not suspended, and no sync
        // to ask for (D154). Two days ahead, so that a run across Beijing midnight still sees a later day.
        val firstDay = java.time.LocalDate.now(java.time.ZoneOffset.ofHours(8)).plusDays(2)
        val (wallet, _) = issued(validFrom = firstDay.toString())
        wallet.use { w ->
            Verifier.pinnedText(root, Audience.ENFORCEMENT, StaleStatusPolicy.REFUSE).use { police ->
                online().use { police.refresh(it, w.nowUnix()) }
                val refused = assertFailsWith<EdlException.Rejected> { police.verifyOffline(offlineQr(w), w.nowUnix()) }
                assertEquals(RejectionReason.LicenceNotYetValid, refused.reason)
            }
            w.pinRootText(root)
            w.refreshLists()
            assertEquals(OwnStatus.LICENCE_NOT_YET_VALID, w.ownStatus())
            val words = ownStatusText(OwnStatus.LICENCE_NOT_YET_VALID).zh
            assertTrue("同步" !in words && "暂停" !in words, words)
            // An expired licence cannot be reached on a real authority (it issues no e-licence for one and
            // refuses a renewal into the past); the core's tests cover it, here only its words.
            assertContains(ownStatusText(OwnStatus.LICENCE_EXPIRED).zh, "换证")
        }
    }
}
