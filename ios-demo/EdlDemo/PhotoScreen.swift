import EdlWallet
import PhotosUI
import SwiftUI

/// The photo (the Kotlin `PhotoViewModel`): pick one, the phone's checks, the upload's
/// progress as the core reports it, and the review with its deadline.
@MainActor
final class PhotoViewModel: ObservableObject {
    @Published private(set) var photo: Data?
    @Published private(set) var source: PhotoSource?
    @Published private(set) var report: PhotoReport?
    @Published private(set) var canUpload = false
    @Published private(set) var stage: UploadStage?
    @Published private(set) var progress: Float = 0
    @Published private(set) var phase: ApplicationPhase?
    @Published private(set) var deadline: LocalizedText?
    @Published private(set) var lastReview: PhotoReview?
    @Published private(set) var error: LocalizedText?
    @Published private(set) var busy = false
    private let session: WalletSession

    init(session: WalletSession) {
        self.session = session
        reload()
    }

    var heading: LocalizedText? { phase.map { applicationPhaseText(phase: $0) } }

    func reload() {
        let application = try? session.wallet.application()
        phase = application?.phase
        deadline = application?.pendingReview.map { reviewDeadlineText(deadlineUnix: $0.deadlineUnix) }
        lastReview = (try? session.wallet.photoReviews())?.last
    }

    /// A photo taken or picked: the phone's checks run at once, without the network.
    func pick(_ data: Data, source: PhotoSource) async {
        do {
            let report = try await session.wallet.checkPhoto(photo: data)
            (photo, self.source, self.report, canUpload) = (data, source, report, report.passes)
            (stage, progress, error) = (nil, 0, nil)
        } catch {
            (photo, report, canUpload) = (nil, nil, false)
            self.error = errorShown(error)
        }
    }

    @discardableResult
    func upload() async -> Bool {
        guard let photo, canUpload else { return false }
        busy = true
        canUpload = false
        error = nil
        defer { busy = false }
        do {
            _ = try await session.wallet.submitPhoto(photo: photo, source: source ?? .album, progress: Progress(vm: self))
            reload()
            session.route()
            return true
        } catch {
            canUpload = report?.passes == true
            self.error = errorShown(error)
            return false
        }
    }

    /// Pull to refresh: asks the authority for the review's result.
    func refresh() async {
        error = await session.sync()
        reload()
        session.route()
    }

    fileprivate func onStage(_ stage: UploadStage, _ fraction: Float) {
        self.stage = stage
        progress = fraction
    }

    /// The upload's progress callback: stages come on a library thread.
    private final class Progress: UploadProgress, @unchecked Sendable {
        weak var vm: PhotoViewModel?
        init(vm: PhotoViewModel) { self.vm = vm }

        func onStage(stage: UploadStage, fraction: Float) {
            Task { @MainActor [weak vm] in vm?.onStage(stage, fraction) }
        }
    }
}

struct PhotoView: View {
    @ObservedObject var vm: PhotoViewModel
    @State private var item: PhotosPickerItem?

    var body: some View {
        Form {
            Section("驾驶人照片 Photo") {
                if let heading = vm.heading { Bilingual(text: heading) }
                PhotosPicker("相册 Album", selection: $item, matching: .images)
                    .onChange(of: item) { item in
                        Task {
                            if let data = try? await item?.loadTransferable(type: Data.self) { await vm.pick(data, source: .album) }
                        }
                    }
                if let data = vm.photo, let image = UIImage(data: data) {
                    Image(uiImage: image).resizable().scaledToFit().frame(width: 110)
                }
            }
            if let report = vm.report {
                Section("本机检测 Checks on this phone") {
                    if report.passes { Text("✓ 符合要求 Meets the rules").foregroundColor(.green) }
                    ForEach(Array(report.problems.enumerated()), id: \.offset) { _, p in Bilingual(text: p.hint, colour: .red) }
                    ForEach(Array(report.leftToReviewer.enumerated()), id: \.offset) { _, r in
                        Text("· \(r.zh)  \(r.en)").font(.caption).foregroundColor(.secondary)
                    }
                }
            }
            Section {
                Button("上传 Upload") { Task { await vm.upload() } }.disabled(!vm.canUpload)
                if let stage = vm.stage {
                    ProgressView(value: vm.progress)
                    Text("\(uploadStageText(stage: stage).zh) \(uploadStageText(stage: stage).en)").font(.caption)
                }
                if let deadline = vm.deadline { Text(deadline.zh).foregroundColor(.blue) }
                if let review = vm.lastReview {
                    Text("上次审核 \(reviewOutcomeText(outcome: review.outcome).zh)\(review.reason.map { "：\($0)" } ?? "")").font(.caption)
                }
                if let error = vm.error { Bilingual(text: error, colour: .red) }
            }
        }
        .refreshable { await vm.refresh() }
    }
}
