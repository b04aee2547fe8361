import EdlWallet
import Foundation
import XCTest

/// The pinned root and the signed lists (D93) against the loopback authority, which signs
/// its trust list with a test root key: a verifier and a wallet pin the root, refresh the
/// trust and status lists, refuse forged and foreign lists with the typed reason, refuse a
/// suspended licence offline, and say "status unknown" once the status list is stale.
final class PinnedListsTests: XCTestCase {
    private let root = Authority.env["EDL_ROOT_PUBLIC_KEY"] ?? "EDL_ROOT_PUBLIC_KEY not set"
    /// A valid Ed25519 public key that is not the authority's root (the curve's base point).
    private let otherRoot = Data([0x58] + [UInt8](repeating: 0x66, count: 31))

    /// The lists are public: an offline-only scanner needs no API key to refresh them.
    private func online() throws -> OnlineVerifier {
        try OnlineVerifier(authorityUrl: Authority.url, apiKey: "")
    }

    private func offlineQr(_ w: Wallet) throws -> Data {
        try w.present(form: .offline, audience: .enforcement).payload
    }

    func testAPinnedVerifierRefusesASuspendedLicenceOfflineAfterRefreshing() async throws {
        let (w, _, driver) = try await issuedWallet()
        let police = try Verifier.pinnedText(rootPublicKey: root, audience: .enforcement, staleStatus: .refuse)
        XCTAssertEqual(police.rootPublicKey(), Data(hex: root))
        XCTAssertEqual(assertEdlError(try police.verifyOffline(payload: try offlineQr(w), nowUnix: try w.nowUnix())),
                       .ListRefused(list: .trustList, reason: .noList))

        let lists = try await police.refresh(online: try online(), nowUnix: try w.nowUnix())
        XCTAssertGreaterThanOrEqual(lists.trustList.keys, 1)
        XCTAssertEqual(police.statusListInfo(), lists.statusList)
        XCTAssertEqual(try police.verifyOffline(payload: try offlineQr(w), nowUnix: try w.nowUnix()).status, .inForce)

        // Suspended at the authority; the wallet does not sync, so its QR still carries the
        // credential signed while the licence was in force.
        try await Authority.call("PUT", "/admin/drivers/\(driver)/status", #"{"status":"D"}"#)
        XCTAssertEqual(try police.verifyOffline(payload: try offlineQr(w), nowUnix: try w.nowUnix()).status, .inForce)
        _ = try await police.refresh(online: try online(), nowUnix: try w.nowUnix())
        XCTAssertEqual(assertEdlError(try police.verifyOffline(payload: try offlineQr(w), nowUnix: try w.nowUnix())),
                       .Rejected(reason: .elicenceSuspended))

        // The wallet pins the same root and shows the driver the same answer, offline.
        try w.pinRootText(rootPublicKey: root)
        _ = try await w.refreshLists()
        XCTAssertEqual(try w.ownStatus(), .suspended)
        XCTAssertFalse(ownStatusText(status: .suspended).zh.isEmpty)
    }

    func testForgedUnsignedAndForeignListsAreRefusedWithTheirReason() async throws {
        let signed = try await online().fetchSignedTrustList()
        let status = try await online().fetchStatusList()
        let now = UInt64(Date().timeIntervalSince1970)
        let police = try Verifier.pinned(rootPublicKey: Data(hex: root), audience: .enforcement, staleStatus: .accept)
        // A status list cannot be checked before a trust list vouches for its signer.
        XCTAssertEqual(assertEdlError(try police.loadStatusList(signedList: status, nowUnix: now)),
                       .ListRefused(list: .trustList, reason: .noList))
        // One flipped byte in the keys: the root's signature no longer holds.
        var forged = signed
        forged[forged.startIndex + 20] ^= 1
        XCTAssertEqual(assertEdlError(try police.loadTrustList(signedList: forged, nowUnix: now)),
                       .ListRefused(list: .trustList, reason: .badSignature))
        // The bare list of GET /v1/trust-list carries no root signature.
        let bare = try await Authority.trustList()
        XCTAssertEqual(assertEdlError(try police.loadTrustList(signedList: bare, nowUnix: now)),
                       .ListRefused(list: .trustList, reason: .unsigned))
        XCTAssertNil(police.trustListInfo())

        _ = try police.loadTrustList(signedList: signed, nowUnix: now)
        var forgedStatus = status
        forgedStatus[forgedStatus.endIndex - 1] ^= 0x80
        XCTAssertEqual(assertEdlError(try police.loadStatusList(signedList: forgedStatus, nowUnix: now)),
                       .ListRefused(list: .statusList, reason: .badSignature))
        XCTAssertNil(police.statusListInfo())
        _ = try police.loadStatusList(signedList: status, nowUnix: now)

        // A verifier or a wallet pinned to another root refuses the authority's list.
        let foreign = try Verifier.pinned(rootPublicKey: otherRoot, audience: .business, staleStatus: .accept)
        XCTAssertEqual(assertEdlError(try foreign.loadTrustList(signedList: signed, nowUnix: now)),
                       .ListRefused(list: .trustList, reason: .badSignature))
        let (w, _, _) = try await issuedWallet()
        try w.pinRoot(rootPublicKey: otherRoot)
        let refused = await assertEdlErrorAsync { try await w.refreshLists() }
        XCTAssertEqual(refused, .ListRefused(list: .trustList, reason: .badSignature))
        XCTAssertEqual(try w.ownStatus(), .notChecked)
    }

    func testAStaleStatusListIsStatusUnknownWhichThePolicyDecides() async throws {
        let (w, _, _) = try await issuedWallet()
        let lenient = try Verifier.pinnedText(rootPublicKey: root, audience: .enforcement, staleStatus: .accept)
        let strict = try Verifier.pinnedText(rootPublicKey: root, audience: .enforcement, staleStatus: .refuse)
        let lists = try await lenient.refresh(online: try online(), nowUnix: try w.nowUnix())
        _ = try await strict.refresh(online: try online(), nowUnix: try w.nowUnix())
        try w.pinRootText(rootPublicKey: root)
        _ = try await w.refreshLists()
        XCTAssertEqual(try w.ownStatus(), .inForce)

        // The test authority's status lists live EDL_STATUS_LIST_TTL (12) seconds.
        let wait = Int64(lists.statusList.staleAtUnix) - Int64(try w.nowUnix()) + 1
        try await Task.sleep(nanoseconds: UInt64(max(0, wait)) * 1_000_000_000)
        let qr = try offlineQr(w)
        let verified = try lenient.verifyOffline(payload: qr, nowUnix: try w.nowUnix())
        XCTAssertEqual(verified.status, .unknown)
        XCTAssertTrue(statusCheckText(status: verified.status).en.contains("check online"))
        XCTAssertEqual(assertEdlError(try strict.verifyOffline(payload: qr, nowUnix: try w.nowUnix())),
                       .Rejected(reason: .statusUnknown))
        XCTAssertEqual(try w.ownStatus(), .unknown)
    }
}
