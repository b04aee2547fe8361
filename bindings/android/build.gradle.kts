// The AAR: the generated Kotlin binding (src/main/kotlin) and the native libraries
// (src/main/jniLibs), both written by build-aar.sh.
plugins {
    id("com.android.library") version "8.7.3"
    id("org.jetbrains.kotlin.android") version "2.2.21"
}

android {
    namespace = "cn.edl.wallet"
    compileSdk = 35
    defaultConfig {
        minSdk = 24
        consumerProguardFiles("consumer-rules.pro")
    }
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    packaging {
        // Already stripped by the release profile; keep AGP from trying again.
        jniLibs.keepDebugSymbols += "**/libedl_ffi.so"
    }
}

kotlin {
    jvmToolchain(17)
}

dependencies {
    // The generated code calls the library through JNA: the AAR flavour carries
    // libjnidispatch for every ABI.
    api("net.java.dev.jna:jna:5.19.1@aar")
    api("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.10.2")
}
