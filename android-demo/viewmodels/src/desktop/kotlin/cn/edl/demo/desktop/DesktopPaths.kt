package cn.edl.demo.desktop

import java.io.File
import java.nio.file.Files
import java.nio.file.StandardCopyOption

/**
 * Where the desktop window keeps a wallet and the key file that unlocks it. The key lies
 * beside the wallet's directory, not in it (AN-F8), as a phone keeps its key in the
 * platform's key store: a copy of the directory (a backup, a folder handed to someone)
 * does not carry what opens it.
 */
data class DesktopPaths(val wallet: File, val key: File) {
    /**
     * Moves the key file a demo from before AN-F8 left inside the wallet's directory to
     * [key], so that wallet keeps opening. Nothing happens when [key] exists already.
     */
    fun moveKeyOutOfWallet() {
        val old = File(wallet, "key")
        if (old.isFile && !key.exists()) {
            key.parentFile?.mkdirs()
            Files.move(old.toPath(), key.toPath(), StandardCopyOption.ATOMIC_MOVE)
        }
    }

    companion object {
        /**
         * `--wallet <dir>` (default `~/.edl-demo`) and `--key <file>` (default the wallet's
         * directory's path with `.key` appended: `~/.edl-demo.key`).
         */
        fun of(options: Map<String, String>, home: File): DesktopPaths {
            val wallet = File(options["--wallet"] ?: File(home, ".edl-demo").path).absoluteFile
            val key = File(options["--key"] ?: (wallet.path + ".key")).absoluteFile
            return DesktopPaths(wallet, key)
        }
    }
}
