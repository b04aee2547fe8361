import EdlWallet
import Foundation
import XCTest

/// The verifier's online check through the generated Swift, against the authority on loopback.
final class OnlineVerifierTests: XCTestCase {
    func testTheOnlineQrTheBarcodeAndTheManualCodeVerifyWithTheVerifiersView() async throws {
        let (wallet, number, _) = try await issuedWallet()
        let insurer = try OnlineVerifier(
            authorityUrl: Authority.url, apiKey: try await Authority.createVerifier("平安保险", "insurer"))
        let scanned = try wallet.present(form: .online, audience: .business).payload
        // A verifier app routes what it scans by its form.
        XCTAssertEqual(try payloadForm(payload: scanned), .online)
        XCTAssertEqual(try payloadForm(payload: try wallet.present(form: .offline, audience: .business).payload), .offline)
        guard case .Malformed = assertEdlError(try payloadForm(payload: Data([0xff, 0]))) else {
            return XCTFail("not Malformed")
        }
        let answer = try await insurer.verifyQr(payload: scanned)
        XCTAssertTrue(answer.inForce)
        XCTAssertNil(answer.notInForceReason)
        XCTAssertEqual(answer.statusColour, .black)
        XCTAssertEqual(answer.elicenceId.count, 20)
        guard case let .business(qualification) = answer.view else { return XCTFail("not the business view") }
        XCTAssertEqual(qualification.name, "李四")
        XCTAssertNotEqual(qualification.maskedNumber, number)
        XCTAssertEqual(qualification.classCodes, ["C1"])
        // The photo to compare with the driver's face is the one the digest names.
        XCTAssertEqual(Data(Sha256.hash(answer.photo)).hex, qualification.photoDigestHex)

        let code = try wallet.dynamicCode(audience: .business)
        let byBarcode = try await insurer.verifyBarcode(text: code.barcodeText)
        XCTAssertEqual(byBarcode.elicenceId, answer.elicenceId)
        var spoken = ""
        for (i, digit) in code.manualCode.enumerated() { spoken += (i > 0 && i % 3 == 0 ? " " : "") + String(digit) }
        let byCode = try await insurer.verifyManual(licenceNumber: number, code: spoken)
        XCTAssertEqual(byCode.elicenceId, answer.elicenceId)

        // The trust list it fetches lets the offline Verifier check an offline QR.
        let offline = try Verifier(trustList: try await insurer.fetchTrustList(), audience: .business)
        let verified = try offline.verifyOffline(
            payload: try wallet.present(form: .offline, audience: .business).payload, nowUnix: try wallet.nowUnix())
        guard case .business = verified.disclosed else { return XCTFail("not the business view") }

        let police = try OnlineVerifier(
            authorityUrl: Authority.url, apiKey: try await Authority.createVerifier("交警支队", "enforcement"))
        let full = try await police.verifyQr(payload: try wallet.present(form: .online, audience: .enforcement).payload)
        guard case let .enforcement(main, supplementary) = full.view else { return XCTFail("not the full view") }
        XCTAssertEqual(main.licenceNumber, number)
        XCTAssertEqual(supplementary.address, "上海市黄浦区测试路2号")
    }

    /// What an app does with each refusal, written as it would be: one `switch`.
    func testRefusalsArriveAsEdlErrorCasesASwitchHandles() async throws {
        func advice(_ error: EdlError?) -> String {
            switch error {
            case .Rejected(reason: .wrongCode): "ask for the code again"
            case .Malformed(what: .payload, _): "scan an online QR"
            case .Malformed(what: .typedCode, _): "check the digits"
            case .Unauthorised: "sign the verifier in again"
            case .Offline: "no network"
            case .InvalidArgument: "fix the set-up"
            default: "unexpected: \(String(describing: error))"
            }
        }
        let (wallet, number, _) = try await issuedWallet()
        let rental = try OnlineVerifier(
            authorityUrl: Authority.url, apiKey: try await Authority.createVerifier("安心租车", "rental"))
        let real = Array(try wallet.dynamicCode(audience: .business).manualCode)
        var wrong = real
        wrong[1] = real[1] == "0" ? "1" : "0"
        let offlineQr = try wallet.present(form: .offline, audience: .business).payload
        let qr = try wallet.present(form: .online, audience: .business).payload
        let forged = try OnlineVerifier(authorityUrl: Authority.url, apiKey: "not-a-key")
        let unreachable = try OnlineVerifier(authorityUrl: "http://127.0.0.1:1", apiKey: "any")

        var got: [String] = []
        got.append(advice(await assertEdlErrorAsync { try await rental.verifyManual(licenceNumber: number, code: String(wrong)) }))
        got.append(advice(await assertEdlErrorAsync { try await rental.verifyQr(payload: offlineQr) }))
        got.append(advice(await assertEdlErrorAsync { try await rental.verifyBarcode(text: "123") }))
        got.append(advice(await assertEdlErrorAsync { try await forged.verifyQr(payload: qr) }))
        got.append(advice(await assertEdlErrorAsync { try await unreachable.verifyQr(payload: qr) }))
        got.append(advice(assertEdlError(try OnlineVerifier(authorityUrl: "ftp://authority", apiKey: "key"))))
        XCTAssertEqual(got, [
            "ask for the code again", "scan an online QR", "check the digits",
            "sign the verifier in again", "no network", "fix the set-up",
        ])
    }

    func testPinnedAuthorityRootsMustBeCertificates() throws {
        // The TLS handshake itself is tested in Rust (authority/tests/tls.rs); here, the contract.
        guard case let .InvalidArgument(detail) = assertEdlError(
            try setAuthorityRoots(rootsDer: [Data("not a certificate".utf8)]))
        else { return XCTFail("not InvalidArgument") }
        XCTAssertTrue(detail.contains("certificates"), detail)
        try setAuthorityRoots(rootsDer: nil)
    }

    /// `async let` over one `OnlineVerifier`: the checks run at once, on the library's runtime.
    func testManyTasksCheckThroughOneOnlineVerifierAtOnce() async throws {
        let (wallet, _, _) = try await issuedWallet()
        let payload = try wallet.present(form: .online, audience: .business).payload
        let employer = try OnlineVerifier(
            authorityUrl: Authority.url, apiKey: try await Authority.createVerifier("用工单位", "employer"))
        async let a = employer.verifyQr(payload: payload)
        async let b = employer.verifyQr(payload: payload)
        async let c = employer.verifyQr(payload: payload)
        async let d = employer.verifyQr(payload: payload)
        let answers = try await [a, b, c, d]
        let more = try await withThrowingTaskGroup(of: OnlineVerification.self) { group in
            for _ in 0..<12 { group.addTask { try await employer.verifyQr(payload: payload) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        XCTAssertTrue((answers + more).allSatisfy(\.inForce))
        XCTAssertEqual(Set((answers + more).map(\.elicenceId)).count, 1)
        XCTAssertEqual(answers.count + more.count, 16)
    }
}
