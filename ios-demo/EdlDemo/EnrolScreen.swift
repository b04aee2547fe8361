import EdlWallet
import SwiftUI

/// Enrolment: binds this phone's wallet to the driver's account (the Kotlin `EnrolViewModel`).
@MainActor
final class EnrolViewModel: ObservableObject {
    @Published var authorityUrl: String
    @Published var licenceNumber = ""
    @Published var activationCode = ""
    @Published private(set) var busy = false
    @Published private(set) var error: LocalizedText?
    private let session: WalletSession

    init(session: WalletSession, authorityUrl: String) {
        self.session = session
        self.authorityUrl = authorityUrl
    }

    /// Enrols with the fields; on success the session moves on to the application.
    @discardableResult
    func enrol() async -> Bool {
        busy = true
        error = nil
        defer { busy = false }
        do {
            try await session.wallet.enrol(
                authorityUrl: authorityUrl.trimmingCharacters(in: .whitespaces),
                licenceNumber: licenceNumber.trimmingCharacters(in: .whitespaces),
                activationCode: activationCode.trimmingCharacters(in: .whitespaces))
            activationCode = ""
            session.route()
            return true
        } catch {
            self.error = errorShown(error)
            return false
        }
    }
}

struct EnrolView: View {
    @ObservedObject var vm: EnrolViewModel

    var body: some View {
        Form {
            Section("绑定驾驶证 Enrol this phone") {
                TextField("交管服务地址 Authority URL", text: $vm.authorityUrl)
                TextField("证号 Licence number", text: $vm.licenceNumber)
                TextField("激活码 Activation code", text: $vm.activationCode).keyboardType(.numberPad)
                Button("绑定 Enrol") { Task { await vm.enrol() } }.disabled(vm.busy)
            }
            if let error = vm.error { Bilingual(text: error, colour: .red) }
        }
    }
}

/// A text in both languages: Chinese, then English in grey.
struct Bilingual: View {
    let text: LocalizedText
    var colour: Color = .primary

    var body: some View {
        VStack(alignment: .leading) {
            Text(text.zh).foregroundColor(colour)
            Text(text.en).font(.caption).foregroundColor(colour == .primary ? .secondary : colour)
        }
    }
}
