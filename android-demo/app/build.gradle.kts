plugins {
    id("com.android.application")
    id("org.jetbrains.kotlin.android")
}

android {
    namespace = "cn.edl.demo"
    compileSdk = 35
    defaultConfig {
        applicationId = "cn.edl.demo"
        minSdk = 24
        targetSdk = 35
        versionCode = 1
        versionName = "0.1.0"
        // The development authority's identity secret, for DemoIdentity (never in a release app).
        buildConfigField("String", "IDENTITY_SECRET", "\"${project.findProperty("edlIdentitySecret") ?: "demo-secret"}\"")
    }
    buildFeatures {
        buildConfig = true
    }
    // The screens' logic: the plain-Kotlin view models, compiled and tested on the JVM by
    // bindings/test.sh (suite viewmodels), compiled into the app as they are.
    sourceSets["main"].java.srcDir("../viewmodels/src/main/kotlin")
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
}

kotlin {
    jvmToolchain(17)
}

dependencies {
    // The binding (native libraries, generated Kotlin, face model asset) and what it needs.
    implementation(files("../../bindings/android/build/outputs/aar/edl-wallet-release.aar"))
    implementation("net.java.dev.jna:jna:5.19.1@aar")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.10.2")
    implementation("androidx.activity:activity-ktx:1.10.1")
    implementation("androidx.lifecycle:lifecycle-runtime-ktx:2.9.4")
    implementation("androidx.swiperefreshlayout:swiperefreshlayout:1.1.0")
}
