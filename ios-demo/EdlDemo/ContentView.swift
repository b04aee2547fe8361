import EdlWallet
import PhotosUI
import SwiftUI

/// One screen over the wallet: it asks the core for everything it shows. The only choice
/// made here is which part to show for the application's phase.
struct ContentView: View {
    @EnvironmentObject var model: WalletModel
    @State private var url = "http://127.0.0.1:8088"
    @State private var number = ""
    @State private var code = ""
    @State private var secret = ""
    @State private var photoItem: PhotosPickerItem?

    var body: some View {
        ScrollView {
            VStack(alignment: .leading, spacing: 12) {
                Text(model.status).foregroundColor(.secondary)
                screen
            }
            .padding()
            .id(model.revision)
        }
    }

    @ViewBuilder private var screen: some View {
        let wallet = model.wallet
        if !((try? wallet.isEnrolled()) ?? false) {
            TextField("Authority URL", text: $url)
            TextField("Licence number", text: $number)
            TextField("Activation code", text: $code).keyboardType(.numberPad)
            Button("Enrol") {
                model.attempt { try await $0.enrol(authorityUrl: url, licenceNumber: number, activationCode: code) }
            }
        } else {
            switch (try? wallet.application())?.phase {
            case nil, .notApplied, .reapplyNeeded:
                TextField("Identity secret (development authority)", text: $secret)
                Button("Apply for the e-licence") {
                    model.attempt { _ = try await $0.apply(provider: DemoIdentity(secret: secret)) }
                }
            case .awaitingPhoto:
                PhotosPicker("Choose a photo", selection: $photoItem, matching: .images)
                    .onChange(of: photoItem) { item in submit(item) }
            case .underReview:
                Text("Photo under review")
                Button("Check for the answer") { model.attempt { _ = try await $0.sync() } }
            case .issued:
                pages
            case .stopped:
                Text("The e-licence was stopped: please see the vehicle office.")
            }
        }
    }

    @ViewBuilder private var pages: some View {
        if let page = try? model.wallet.mainPage() {
            Text("\(page.name)  \(page.sexLabelZh)  \(page.nationality)")
            Text("证号 \(page.licenceNumber)")
            Text("准驾车型 \(page.classes)   有效期 \(page.validFrom) – \(page.validUntil)")
            if page.status.colour != .hidden {
                Text("状态 \(page.status.labelZh)")
                    .foregroundColor(page.status.colour == .red ? .red : .primary)
            }
        }
        if let p = model.presentation {
            QrView(presentation: p)
            Text("\(p.secondsLeft) s")
        }
        if let s = try? model.wallet.supplementaryPage() {
            Text("记分 \(s.cycle.points) (\(s.cycle.start) – \(s.cycle.end))")
            ForEach(Array(s.record.enumerated()), id: \.offset) { _, e in
                Text("\(e.date) \(e.place) \(e.act) \(e.points) 分")
            }
            Text("\(s.issuingAuthority)  \(s.address)")
        }
        Button("Sync") { model.attempt { _ = try await $0.sync() } }
            .onAppear { model.startRotation() }
    }

    private func submit(_ item: PhotosPickerItem?) {
        Task { @MainActor in
            guard let data = try? await item?.loadTransferable(type: Data.self) else { return }
            do {
                let report = try await model.wallet.checkPhoto(photo: data)
                if !report.passes {
                    model.status = report.problems.map { "\($0.hint.zh) / \($0.hint.en)" }.joined(separator: "\n")
                    return
                }
            } catch {
                model.status = "\(error)"
                return
            }
            model.attempt { _ = try await $0.submitPhoto(photo: data, source: .album, progress: nil) }
        }
    }
}
