import EdlWallet
import SwiftUI

/// Messages and the verification log, newest first (the Kotlin `MessagesViewModel`).
@MainActor
final class MessagesViewModel: ObservableObject {
    @Published private(set) var messages: [Message] = []
    @Published private(set) var verifications: [VerificationLogEntry] = []
    @Published private(set) var error: LocalizedText?
    private let session: WalletSession
    private var listener: UUID?

    init(session: WalletSession) {
        self.session = session
        reload()
        listener = session.listen { [weak self] event in
            switch event {
            case .newMessages, .newVerifications: self?.reload()
            default: break
            }
        }
    }

    func reload() {
        messages = ((try? session.wallet.messages()) ?? []).reversed()
        verifications = ((try? session.wallet.verificationLog()) ?? []).reversed()
    }

    /// Pull to refresh: syncs, then re-reads from the store.
    func refresh() async { error = await session.sync(); reload() }
}

struct MessagesView: View {
    @ObservedObject var vm: MessagesViewModel

    var body: some View {
        List {
            Section("消息 Messages") {
                ForEach(Array(vm.messages.enumerated()), id: \.offset) { _, m in
                    VStack(alignment: .leading) {
                        Text(beijingDateTime(atUnix: m.atUnix)).font(.caption).foregroundColor(.secondary)
                        Text(m.title).bold()
                        Text(m.body)
                    }
                }
            }
            Section("核验记录 Who checked my e-licence") {
                ForEach(Array(vm.verifications.enumerated()), id: \.offset) { _, v in
                    VStack(alignment: .leading) {
                        Text("\(beijingDateTime(atUnix: v.atUnix))  \(v.verifier)（\(verifierClassText(verifierClass: v.verifierClass).zh)）")
                        Text("\(checkMethodText(method: v.method).zh) · \(audienceText(audience: v.audience).zh) · \(checkOutcomeText(outcome: v.outcome).zh)")
                            .font(.caption).foregroundColor(v.outcome == .verified ? .primary : .red)
                    }
                }
            }
            if let error = vm.error { Bilingual(text: error, colour: .red) }
        }
        .refreshable { await vm.refresh() }
    }
}
