import Foundation

/// Where the package keeps the face model the photo checks need: pass its bytes to
/// `loadFaceModel(model:)` once at start-up (the library does not build the model in).
public enum EdlWalletResources {
    /// The SeetaFace model shipped as this package's resource.
    public static var faceModelURL: URL? {
        Bundle.module.url(forResource: "seeta_fd_frontal_v1.0", withExtension: "bin")
    }
}
