package cn.edl.wallet

import java.io.File
import java.nio.file.Files

/**
 * Wallet directories for the tests, all under one temporary root that is removed when the
 * test JVM exits: each holds a wallet database and its key, and a run makes dozens of them.
 */
object Scratch {
    private val root: File = Files.createTempDirectory("edl-kotlin-tests").toFile().also { root ->
        Runtime.getRuntime().addShutdownHook(Thread { root.deleteRecursively() })
    }

    /** A new empty directory for one wallet. */
    fun dir(prefix: String): String = Files.createTempDirectory(root.toPath(), prefix).toString()
}
