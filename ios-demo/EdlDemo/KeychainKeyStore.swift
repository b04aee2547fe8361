import CryptoKit
import EdlWallet
import Foundation
import Security

/// The wallet's `KeyStore`: AES-256-GCM (CryptoKit) under a key kept in the Keychain for
/// this device only (never in a backup, unreadable before first unlock). The blob is
/// CryptoKit's combined form: nonce ‖ ciphertext ‖ tag.
final class KeychainKeyStore: KeyStore, @unchecked Sendable {
    private let account = "edl-wallet-data-key"

    func wrapKey(plaintext: Data) throws -> Data {
        guard let sealed = try AES.GCM.seal(plaintext, using: key(createIfMissing: true)).combined else {
            throw EdlError.KeyStore(reason: .failed)
        }
        return sealed
    }

    func unwrapKey(wrapped: Data) throws -> Data {
        do {
            return try AES.GCM.open(AES.GCM.SealedBox(combined: wrapped), using: key(createIfMissing: false))
        } catch is CryptoKitError {
            throw EdlError.KeyStore(reason: .wrongKey)
        }
    }

    /// The Keychain key; made only when a new wallet wraps its data key. When a wallet is
    /// opened and the key is gone (a backup restored without this device's Keychain), the
    /// wallet can never open again: `invalidated`, whose words ask to enrol again, not a
    /// new key that then reads as a wrong one.
    private func key(createIfMissing: Bool) throws -> SymmetricKey {
        let query: [String: Any] = [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrAccount as String: account,
            kSecReturnData as String: true,
        ]
        var item: CFTypeRef?
        switch SecItemCopyMatching(query as CFDictionary, &item) {
        case errSecSuccess:
            guard let data = item as? Data else { throw EdlError.KeyStore(reason: .failed) }
            return SymmetricKey(data: data)
        case errSecItemNotFound:
            guard createIfMissing else { throw EdlError.KeyStore(reason: .invalidated) }
            let key = SymmetricKey(size: .bits256)
            let add: [String: Any] = [
                kSecClass as String: kSecClassGenericPassword,
                kSecAttrAccount as String: account,
                kSecAttrAccessible as String: kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly,
                kSecValueData as String: key.withUnsafeBytes { Data($0) },
            ]
            guard SecItemAdd(add as CFDictionary, nil) == errSecSuccess else {
                throw EdlError.KeyStore(reason: .failed)
            }
            return key
        case errSecInteractionNotAllowed:
            throw EdlError.KeyStore(reason: .unavailable)
        default:
            throw EdlError.KeyStore(reason: .failed)
        }
    }
}
