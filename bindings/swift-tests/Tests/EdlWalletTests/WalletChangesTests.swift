import EdlWallet
import Foundation
import XCTest

/// What changes after the e-licence is issued, against the loopback authority: a photo
/// change (and the busy answer at peak hours), a suspension, the verification log, and app
/// callbacks that throw.
final class WalletChangesTests: XCTestCase {
    private let mirrored = Authority.fixture("clean_mirrored.jpg")

    override func setUp() {
        Authority.faceModelLoaded
    }

    func testAPhotoChangeIsReviewedAndArrivesAsAReSignedElicence() async throws {
        let (w, _, _) = try await issuedWallet()
        let recorder = Recorder()
        w.setObserver(observer: recorder)
        let before = try w.mainPage()!.photoDigestHex
        let accepted = try await w.changePhoto(photo: mirrored, source: .camera, progress: nil)
        // Until the review, the e-licence in hand keeps working.
        XCTAssertEqual(accepted.application.phase, .issued)
        XCTAssertEqual(accepted.application.pendingReview?.photoId, accepted.photoId)
        _ = try w.present(form: .offline, audience: .business)

        try await Authority.approve(accepted.photoId)
        let synced = try await w.sync()
        XCTAssertTrue(synced.elicenceChanged)
        let after = try w.mainPage()!.photoDigestHex
        XCTAssertNotEqual(before, after)
        XCTAssertEqual(Data(Sha256.hash(try w.photo()!)).hex, after)
        XCTAssertTrue(try w.messages().contains { $0.kind == .photoChanged })
        XCTAssertTrue(recorder.events.get.contains(.elicenceChanged))
        XCTAssertNil(try w.application()?.pendingReview)
        let verifier = try Verifier(trustList: try await Authority.trustList(), audience: .business)
        let qr = try w.present(form: .offline, audience: .business).payload
        guard case let .business(view) = try verifier.verifyOffline(payload: qr, nowUnix: try w.nowUnix()).disclosed
        else { return XCTFail("not the business view") }
        XCTAssertTrue(after.hasPrefix(view.photoDigestHex))
    }

    func testAPhotoChangeNeedsAnIssuedElicenceAndIsToldToWaitAtPeakHours() async throws {
        let fresh = try Wallet(dir: Authority.tempDir(), keys: SealingKeyStore())
        let none = await assertEdlErrorAsync {
            try await fresh.changePhoto(photo: self.mirrored, source: .album, progress: nil)
        }
        XCTAssertEqual(none, .NoElicence)
        let (w, _, _) = try await issuedWallet()
        try await Authority.call("PUT", "/admin/settings/busy", #"{"retry_after":600}"#)
        let busy = await assertEdlErrorAsync { try await w.changePhoto(photo: self.mirrored, source: .album, progress: nil) }
        try await Authority.call("PUT", "/admin/settings/busy", #"{"retry_after":null}"#)
        guard case let .Busy(retryAfterSecs) = busy else { return XCTFail("not Busy: \(String(describing: busy))") }
        XCTAssertEqual(retryAfterSecs, 600)
        XCTAssertNil(try w.application()?.pendingReview)
        let pending = try await w.changePhoto(photo: mirrored, source: .album, progress: nil).application.pendingReview
        XCTAssertNotNil(pending)
    }

    func testASuspensionTurnsTheStatusRedAndTheObserverHearsIt() async throws {
        let (w, _, driver) = try await issuedWallet()
        let recorder = Recorder()
        w.setObserver(observer: recorder)
        try await Authority.call("PUT", "/admin/drivers/\(driver)/status", #"{"status":"D"}"#)
        let synced = try await w.sync()
        XCTAssertTrue(synced.licenceChanged)
        XCTAssertEqual(try w.statusColour(), .red)
        XCTAssertEqual(recorder.events.get.last { if case .licenceChanged = $0 { true } else { false } },
                       .licenceChanged(colour: .red))
        XCTAssertEqual(try w.mainPage()!.status.letters, "D")
    }

    func testAVerifiersCheckReachesTheDriversVerificationLog() async throws {
        let (w, _, _) = try await issuedWallet()
        let recorder = Recorder()
        w.setObserver(observer: recorder)
        let rental = try OnlineVerifier(
            authorityUrl: Authority.url, apiKey: try await Authority.createVerifier("神州租车", "rental"))
        _ = try await rental.verifyQr(payload: try w.present(form: .online, audience: .business).payload)
        let synced = try await w.sync()
        XCTAssertGreaterThanOrEqual(synced.verifications, 1)
        let entry = try XCTUnwrap(try w.verificationLog().last)
        XCTAssertEqual(entry.verifier, "神州租车")
        XCTAssertEqual(entry.verifierClass, .rental)
        XCTAssertEqual(entry.method, .qr)
        XCTAssertEqual(entry.outcome, .verified)
        XCTAssertTrue(recorder.events.get.contains { if case .newVerifications = $0 { true } else { false } })
    }

    func testCallbacksThatThrowNeverFailOrUndoTheCall() async throws {
        struct AppBug: Error {}
        final class ThrowingLogger: Logger {
            let calls = Locked(0)
            func log(level: LogLevel, target: String, message: String) throws {
                calls.with { $0 += 1 }
                throw AppBug()
            }
        }
        final class ThrowsOnce: WalletObserver {
            let calls = Locked(0)
            let after = Locked<[WalletEvent]>([])
            func onEvent(event: WalletEvent) throws {
                if calls.with({ $0 += 1; return $0 }) == 1 { throw AppBug() }
                after.with { $0.append(event) }
            }
        }
        final class CrashingFaceSdk: IdentityProvider {
            func attest(challenge: Data, licenceNumber: String) throws -> Data? { throw AppBug() }
        }
        final class ThrowingBar: UploadProgress {
            func onStage(stage: UploadStage, fraction: Float) throws { throw AppBug() }
        }
        let number = Authority.number()
        let driver = try await Authority.createDriver(number)
        let logger = ThrowingLogger(), observer = ThrowsOnce()
        setLogger(logger: logger, maxLevel: .info)
        defer { setLogger(logger: nil, maxLevel: .info) }
        let w = try Wallet(dir: Authority.tempDir(), keys: SealingKeyStore())
        w.setObserver(observer: observer)
        try await w.enrol(
            authorityUrl: Authority.url, licenceNumber: number,
            activationCode: try await Authority.activationCode(driver))
        // A face SDK that throws has not attested: a typed refusal, nothing else.
        let refused = await assertEdlErrorAsync { try await w.apply(provider: CrashingFaceSdk()) }
        XCTAssertEqual(refused, .Refused(reason: .identityCheckFailed))
        _ = try await w.apply(provider: HmacIdentityProvider())
        let accepted = try await w.submitPhoto(photo: Authority.photo, source: .album, progress: ThrowingBar())
        try await Authority.approve(accepted.photoId)
        let synced = try await w.sync()
        XCTAssertTrue(synced.elicenceChanged)
        XCTAssertEqual(try w.application()?.phase, .issued)
        XCTAssertGreaterThan(observer.calls.get, 1)
        XCTAssertTrue(observer.after.get.contains(.elicenceChanged))
        setLogger(logger: nil, maxLevel: .info)  // returns once the records made before have reached it
        XCTAssertGreaterThan(logger.calls.get, 0)
    }
}
