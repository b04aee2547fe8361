import CryptoKit
import EdlWallet
import Foundation

/// A stand-in for the face-verification SDK (实人认证) a real app calls here: the
/// attestation the development authority accepts, an HMAC under the secret it was started
/// with (`EDL_IDENTITY_SECRET`). Never ship it: whoever holds the secret passes the check.
final class DemoIdentity: IdentityProvider, @unchecked Sendable {
    private let secret: SymmetricKey
    init(secret: String) { self.secret = SymmetricKey(data: Data(secret.utf8)) }

    func attest(challenge: Data, licenceNumber: String) -> Data? {
        var mac = HMAC<SHA256>(key: secret)
        mac.update(data: Data("EDL1/identity\u{0}".utf8))
        mac.update(data: challenge)
        mac.update(data: Data(licenceNumber.utf8))
        return Data(mac.finalize())
    }
}
