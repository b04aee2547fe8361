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

    func refresh() async {
        do { _ = try await session.wallet.sync(); error = nil } catch { self.error = Texts.error(error) }
        reload()
    }
}

struct MessagesView: View {
    @ObservedObject var vm: MessagesViewModel

    var body: some View {
        List {
            Section("消息 Messages") {
                ForEach(Array(vm.messages.enumerated()), id: \.offset) { _, m in
                    VStack(alignment: .leading) {
                        Text(Clock.dateTime(m.atUnix)).font(.caption).foregroundColor(.secondary)
                        Text(m.title).bold()
                        Text(m.body)
                    }
                }
            }
            Section("核验记录 Who checked my e-licence") {
                ForEach(Array(vm.verifications.enumerated()), id: \.offset) { _, v in
                    VStack(alignment: .leading) {
                        Text("\(Clock.dateTime(v.atUnix))  \(v.verifier)（\(Texts.verifierClass(v.verifierClass).zh)）")
                        Text("\(Texts.method(v.method).zh) · \(Texts.audience(v.audience).zh) · \(Texts.outcome(v.outcome).zh)")
                            .font(.caption).foregroundColor(v.outcome == .verified ? .primary : .red)
                    }
                }
            }
            if let error = vm.error { Bilingual(text: error, colour: .red) }
        }
        .refreshable { await vm.refresh() }
    }
}
