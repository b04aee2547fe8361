// The demo app. It takes the binding as the AAR that bindings/android/build-aar.sh builds.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}
dependencyResolutionManagement {
    repositories {
        google()
        mavenCentral()
    }
}
rootProject.name = "edl-android-demo"
include(":app")
