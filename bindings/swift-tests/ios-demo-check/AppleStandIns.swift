// Stand-ins for what ios-demo/EdlDemo/WalletSession.swift take from Apple-only frameworks, so
// that the model (everything in it that calls the binding: the wallet, the observer handed
// to the main actor, the typed errors, the rotation) type-checks in Swift 6 language mode on
// Linux (bindings/test.sh swift). On iOS the real ones are used: Combine's ObservableObject
// and @Published, and KeychainKeyStore.swift (CryptoKit, Security), which needs Xcode.
import EdlWallet
import Foundation

protocol ObservableObject: AnyObject {}

@propertyWrapper
struct Published<Value> {
    var wrappedValue: Value
}

final class KeychainKeyStore: KeyStore {
    func wrapKey(plaintext: Data) throws -> Data { plaintext }
    func unwrapKey(wrapped: Data) throws -> Data { wrapped }
}
