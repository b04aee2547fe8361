package cn.edl.demo.desktop

import java.io.File
import java.io.IOException
import java.nio.file.FileAlreadyExistsException
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
     * Makes the wallet's directory, refuses a key file inside it, and moves the key file a
     * demo from before AN-F8 left there (`key`) to [key], so that wallet keeps opening. A
     * key already at [key] is never replaced. Throws [IllegalArgumentException] or
     * [IOException] with a message for the person starting the demo.
     */
    fun prepare() {
        wallet.mkdirs()
        // Compared as the file system resolves them: `--key` through a link into the
        // directory is inside it too.
        require(!key.canonicalFile.toPath().startsWith(wallet.canonicalFile.toPath())) {
            "the key file $key lies inside the wallet's directory $wallet: a copy of the directory would carry it"
        }
        val old = File(wallet, "key")
        if (!old.isFile || key.exists()) return
        key.parentFile?.mkdirs()
        try {
            // A new name for the same file, refused if the name is taken meanwhile: a
            // rename would replace a key another start just put there.
            Files.createLink(key.toPath(), old.toPath())
        } catch (taken: FileAlreadyExistsException) {
            return
        } catch (other: Exception) {
            // Another file system, or one without links: copied, again never over a file.
            if (other !is IOException && other !is UnsupportedOperationException) throw other
            Files.copy(old.toPath(), key.toPath(), StandardCopyOption.COPY_ATTRIBUTES)
        }
        Files.delete(old.toPath())
    }

    companion object {
        /**
         * `--wallet <dir>` (default `~/.edl-demo`) and `--key <file>` (default the wallet's
         * directory's name with `.key` appended, beside it: `~/.edl-demo.key`). Paths are
         * made absolute and normalised first, so `--wallet .` keeps its key beside the
         * current directory, not in it.
         */
        fun of(options: Map<String, String>, home: File): DesktopPaths {
            val wallet = normal(File(options["--wallet"] ?: File(home, ".edl-demo").path))
            val key = options["--key"]?.let { normal(File(it)) }
                ?: File(wallet.parentFile ?: wallet, wallet.name + ".key")
            return DesktopPaths(wallet, key)
        }

        private fun normal(file: File): File = file.toPath().toAbsolutePath().normalize().toFile()
    }
}
