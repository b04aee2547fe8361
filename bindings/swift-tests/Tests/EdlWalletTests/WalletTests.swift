import EdlWallet
import Foundation
import XCTest

/// The driver's wallet through the generated Swift, against the authority on loopback, with
/// a `KeyStore` and an `IdentityProvider` written in Swift.
final class WalletTests: XCTestCase {
    override func setUp() {
        Authority.faceModelLoaded
    }

    func testTheDriverFlowEndsInAnOfflinePresentationTheVerifierAccepts() async throws {
        let keys = SealingKeyStore()
        let dir = Authority.tempDir()
        let number = Authority.number()
        let driver = try await Authority.createDriver(number)
        var wallet: Wallet? = try Wallet(dir: dir, keys: keys)
        let w = wallet!
        try await w.enrol(
            authorityUrl: Authority.url, licenceNumber: number,
            activationCode: try await Authority.activationCode(driver))
        XCTAssertTrue(try w.isEnrolled())
        let applied = try await w.apply(provider: HmacIdentityProvider())
        XCTAssertEqual(applied.phase, .awaitingPhoto)
        let report = try await w.checkPhoto(photo: Authority.photo)
        XCTAssertTrue(report.passes, "\(report.problems)")
        let progress = RecordingProgress()
        let accepted = try await w.submitPhoto(photo: Authority.photo, source: .album, progress: progress)
        XCTAssertEqual(progress.stages.get, [.checked, .normalised, .uploading, .uploaded])
        XCTAssertEqual(accepted.application.phase, .underReview)
        let pending = try XCTUnwrap(try w.application()?.pendingReview)
        XCTAssertGreaterThan(pending.deadlineUnix, pending.submittedAtUnix)
        try await Authority.approve(accepted.photoId)
        let synced = try await w.sync()
        XCTAssertTrue(synced.elicenceChanged)

        XCTAssertEqual(keys.wraps.get, 1)
        XCTAssertEqual(try w.application()?.phase, .issued)
        let main = try XCTUnwrap(try w.mainPage())
        XCTAssertEqual(main.licenceNumber, number)
        XCTAssertEqual(main.name, "李四")
        XCTAssertEqual(try w.statusColour(), .black)
        XCTAssertEqual(try w.supplementaryPage()?.classMeanings.first?.code, "C1")
        XCTAssertNotNil(try w.lastSyncedUnix())
        XCTAssertNotNil(try w.photo())
        XCTAssertEqual(try w.photoReviews().last?.outcome, .approved)
        XCTAssertTrue(try w.messages().contains { $0.kind == .applicationSucceeded })

        let presentation = try w.present(form: .offline, audience: .enforcement)
        XCTAssertEqual(Int(presentation.qrWidth * presentation.qrWidth), presentation.qrModules.count)
        XCTAssertTrue((1...30).contains(presentation.secondsLeft))
        let verifier = try Verifier(trustList: try await Authority.trustList(), audience: .enforcement)
        let verified = try verifier.verifyOffline(payload: presentation.payload, nowUnix: try w.nowUnix())
        guard case let .enforcement(view) = verified.disclosed else { return XCTFail("not the full view") }
        XCTAssertEqual(view.main.licenceNumber, number)
        var tampered = presentation.payload
        tampered[tampered.count - 1] ^= 1
        guard case .Rejected = assertEdlError(try verifier.verifyOffline(payload: tampered, nowUnix: try w.nowUnix()))
        else { return XCTFail("not Rejected") }
        let code = try w.dynamicCode(audience: .business)
        XCTAssertTrue(code.manualCode.allSatisfy(\.isNumber))
        XCTAssertTrue(code.barcodeModules.contains(true))
        wallet = nil

        // Reopened with the same Swift key store: the data key is unwrapped, the pages are there.
        let again = try Wallet(dir: dir, keys: keys)
        XCTAssertEqual(try again.mainPage()?.licenceNumber, number)
        XCTAssertGreaterThanOrEqual(keys.unwraps.get, 1)
        // Another key: the Swift key store's wrongKey arrives as a typed error.
        XCTAssertEqual(assertEdlError(try Wallet(dir: dir, keys: SealingKeyStore())), .KeyStore(reason: .wrongKey))
    }

    /// Neither is a damaged store, whose answer is to wipe the wallet (D131): a file from a
    /// newer library is `StoreTooNew`, and a key store that unwraps a key of the wrong
    /// length is a key-store failure.
    func testAStoreFromANewerLibraryAsksForAnUpdateAndAShortKeyBlamesTheKeyStore() throws {
        let dir = Authority.tempDir()
        let keys = SealingKeyStore()
        _ = try Wallet(dir: dir, keys: keys)
        XCTAssertEqual(assertEdlError(try Wallet(dir: dir, keys: ShortKeyStore(keys))), .KeyStore(reason: .failed))
        // The file as a newer library leaves it: SQLite's user_version (the schema's
        // version) is the 4 bytes at offset 60 of the database header, big-endian.
        let file = try XCTUnwrap(FileHandle(forUpdatingAtPath: dir + "/wallet.db"))
        try file.seek(toOffset: 60)
        try file.write(contentsOf: Data([0, 0, 0, 99]))
        try file.close()
        XCTAssertEqual(assertEdlError(try Wallet(dir: dir, keys: keys)), .StoreTooNew)
    }

    func testOnlyTheShippedFaceModelLoads() throws {
        // The package's resource is the model the repository ships.
        let url = try XCTUnwrap(EdlWalletResources.faceModelURL)
        XCTAssertEqual(try Data(contentsOf: url), FileManager.default.contents(atPath: Authority.env["EDL_FACE_MODEL"]!))
        try loadFaceModel(model: Data(contentsOf: url))
        guard case let .InvalidArgument(detail) = assertEdlError(try loadFaceModel(model: Authority.photo))
        else { return XCTFail("not InvalidArgument") }
        XCTAssertTrue(detail.contains("face model"), detail)
    }

    /// `Wallet` is `Sendable`: a task group and `async let` share one instance.
    func testManyTasksShareOneWallet() async throws {
        let (w, _, _) = try await issuedWallet()
        async let synced = w.sync()
        async let again = w.sync()
        let results = try await withThrowingTaskGroup(of: String.self) { group in
            for i in 0..<24 {
                group.addTask {
                    switch i % 4 {
                    case 0: _ = try await w.sync(); return "sync"
                    case 1: return String(try w.present(form: .offline, audience: .business).payload.count)
                    case 2: return try w.mainPage()!.name
                    default: return try w.dynamicCode(audience: .enforcement).manualCode
                    }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        _ = try await (synced, again)
        XCTAssertEqual(results.count, 24)
        XCTAssertEqual(results.filter { $0 == "李四" }.count, 6)
        XCTAssertEqual(results.filter { $0 == "sync" }.count, 6)
    }

    /// UniFFI 0.32's Swift async does not forward a task's cancellation to Rust (D46): a
    /// cancelled task still gets the call's own result, and the wallet stays consistent.
    func testCancellingTheTaskOfAnInFlightCallLeavesTheWalletConsistent() async throws {
        let (w, _, driver) = try await issuedWallet()
        try await Authority.call("PUT", "/admin/drivers/\(driver)/status", #"{"status":"D"}"#)
        let task = Task { () async throws -> (SyncReport, Bool) in
            let report = try await w.sync()
            return (report, Task.isCancelled)
        }
        task.cancel()
        let (report, sawCancel) = try await task.value
        XCTAssertTrue(sawCancel)
        // The sync ran to the end: its change is stored and reported once.
        XCTAssertTrue(report.licenceChanged)
        XCTAssertEqual(try w.statusColour(), .red)
        let again = try await w.sync()
        XCTAssertFalse(again.licenceChanged)
        // A task cancelled before it calls: the call still runs; the app checks for itself.
        let early = Task { () async throws -> Bool in
            withUnsafeCurrentTask { $0?.cancel() }
            _ = try await w.sync()
            return Task.isCancelled
        }
        let sawCancelled = try await early.value
        XCTAssertTrue(sawCancelled)
    }

    func testAWrongActivationCodeIsATypedRefusal() async throws {
        let number = Authority.number()
        _ = try await Authority.createDriver(number)
        let w = try Wallet(dir: Authority.tempDir(), keys: SealingKeyStore())
        let e = await assertEdlErrorAsync {
            try await w.enrol(authorityUrl: Authority.url, licenceNumber: number, activationCode: "000000")
        }
        XCTAssertEqual(e, .Refused(reason: .activationCodeInvalid))
        XCTAssertFalse(String(describing: e).contains(number))
        XCTAssertFalse(try w.isEnrolled())
    }

    func testAnUnreachableAuthorityIsOfflineAndReadsStillWork() async throws {
        let w = try Wallet(dir: Authority.tempDir(), keys: SealingKeyStore())
        let offline = await assertEdlErrorAsync {
            try await w.enrol(authorityUrl: "http://127.0.0.1:9", licenceNumber: Authority.number(), activationCode: "123456")
        }
        XCTAssertEqual(offline, .Offline)
        let notEnrolled = await assertEdlErrorAsync { try await w.sync() }
        XCTAssertEqual(notEnrolled, .NotEnrolled)
        XCTAssertEqual(assertEdlError(try w.present(form: .online, audience: .business)), .NoElicence)
        XCTAssertNil(try w.mainPage())
    }

    func testAPhotoWithProblemsIsReportedWithTypedProblemsAndHints() async throws {
        let w = try Wallet(dir: Authority.tempDir(), keys: try keyFileKeyStore(path: Authority.tempDir() + "/key"))
        let report = try await w.checkPhoto(photo: Authority.fixture("too_dark.jpg"))
        XCTAssertFalse(report.passes)
        XCTAssertTrue(report.problems.contains { $0.kind == .underexposed })
        XCTAssertTrue(report.problems.allSatisfy { !$0.hint.zh.isEmpty && !$0.hint.en.isEmpty })
    }

    func testTheObserverSeesTheReviewResultAndQrRotationTicks() async throws {
        let (w, _, _) = try await issuedWallet()
        let recorder = Recorder()
        w.setObserver(observer: recorder)
        _ = try await w.sync()
        let ticker = try w.startRotation(form: .online, audience: .business)
        let deadline = Date().addingTimeInterval(5)
        while !recorder.events.get.contains(where: { if case .rotation = $0 { true } else { false } }),
            Date() < deadline
        {
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        ticker.stop()
        ticker.stop()
        guard case let .rotation(presentation) = recorder.events.get.first(where: {
            if case .rotation = $0 { true } else { false }
        }) else { return XCTFail("no rotation tick in 5 s") }
        XCTAssertEqual(presentation.form, .online)
        w.setObserver(observer: nil)

        // A fresh wallet that observes from the start sees the application and the review.
        let number = Authority.number()
        let driver = try await Authority.createDriver(number)
        let seen = Recorder()
        let fresh = try Wallet(dir: Authority.tempDir(), keys: SealingKeyStore())
        fresh.setObserver(observer: seen)
        try await fresh.enrol(
            authorityUrl: Authority.url, licenceNumber: number,
            activationCode: try await Authority.activationCode(driver))
        _ = try await fresh.apply(provider: HmacIdentityProvider())
        let accepted = try await fresh.submitPhoto(photo: Authority.photo, source: .camera, progress: nil)
        try await Authority.approve(accepted.photoId)
        _ = try await fresh.sync()
        let events = seen.events.get
        XCTAssertTrue(events.contains(.elicenceChanged))
        XCTAssertTrue(events.contains { if case .reviewResult(let r) = $0 { r.outcome == .approved } else { false } })
        XCTAssertTrue(events.contains {
            if case .applicationChanged(let a) = $0 { a.phase == .issued } else { false }
        })
    }

    func testLogRecordsReachASwiftLogger() throws {
        final class Lines: Logger {
            let lines = Locked<[String]>([])
            func log(level: LogLevel, target: String, message: String) throws {
                lines.with { $0.append("\(level) \(target) \(message)") }
            }
        }
        let logger = Lines()
        setLogger(logger: logger, maxLevel: .info)
        defer { setLogger(logger: nil, maxLevel: .info) }
        _ = try Wallet(dir: Authority.tempDir(), keys: try keyFileKeyStore(path: Authority.tempDir() + "/key"))
        // The logger is called on the library's own thread; removing it returns once the
        // records made before have reached it (D141).
        setLogger(logger: nil, maxLevel: .info)
        XCTAssertTrue(logger.lines.get.contains("info edl_ffi::wallet wallet opened"), "\(logger.lines.get)")
    }
}
