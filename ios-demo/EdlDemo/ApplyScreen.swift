import EdlWallet
import SwiftUI

/// Applying for the e-licence (the Kotlin `ApplyViewModel`): the real-person check, then the
/// authority's answer; a licence not in force is refused with the core's reason and text.
@MainActor
final class ApplyViewModel: ObservableObject {
    @Published private(set) var phase: ApplicationPhase?
    @Published private(set) var busy = false
    @Published private(set) var notEligible: NotEligibleReason?
    @Published private(set) var refusal: LocalizedText?
    private let session: WalletSession
    private let identity: IdentityProvider

    init(session: WalletSession, identity: IdentityProvider) {
        self.session = session
        self.identity = identity
        reload()
    }

    var heading: LocalizedText? { phase.map { applicationPhaseText(phase: $0) } }

    func reload() { phase = (try? session.wallet.application())?.phase }

    @discardableResult
    func apply() async -> Bool {
        busy = true
        refusal = nil
        notEligible = nil
        defer { busy = false }
        do {
            _ = try await session.wallet.apply(provider: identity)
            reload()
            session.route()
            return true
        } catch {
            if case EdlError.NotEligible(let reason) = error { notEligible = reason }
            refusal = errorShown(error)
            return false
        }
    }
}

struct ApplyView: View {
    @ObservedObject var vm: ApplyViewModel

    var body: some View {
        Form {
            Section("申领电子驾驶证 Apply") {
                if let heading = vm.heading { Bilingual(text: heading) }
                Text("申领前需完成实人认证。A real-person check comes first.").font(.footnote)
                Button("实人认证并申领 Check and apply") { Task { await vm.apply() } }.disabled(vm.busy)
            }
            if let refusal = vm.refusal {
                Section("不能申领 Refused") { Bilingual(text: refusal, colour: .red) }
            }
        }
    }
}
