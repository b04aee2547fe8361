package cn.edl.demo.viewmodels

import cn.edl.wallet.EdlException
import cn.edl.wallet.StatusColour
import cn.edl.wallet.errorText
import java.net.InetAddress
import java.net.ServerSocket
import java.net.Socket
import java.net.URI
import java.util.concurrent.CopyOnWriteArrayList
import kotlin.concurrent.thread
import kotlinx.coroutines.runBlocking
import kotlin.test.Test
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertNotNull

/** A TCP relay on loopback to the authority, so a test can take the network away. */
class Relay(target: String) : AutoCloseable {
    private val to = URI.create(target)
    private val server = ServerSocket(0, 50, InetAddress.getLoopbackAddress())
    private val open = CopyOnWriteArrayList<Socket>()

    /** The URL the wallet is given. */
    val url = "http://127.0.0.1:${server.localPort}"

    init {
        thread(isDaemon = true) {
            while (!server.isClosed) {
                val client = runCatching { server.accept() }.getOrNull() ?: break
                val upstream = Socket(to.host, to.port)
                open += client
                open += upstream
                pump(client, upstream)
                pump(upstream, client)
            }
        }
    }

    private fun pump(from: Socket, to: Socket) = thread(isDaemon = true) {
        runCatching { from.getInputStream().copyTo(to.getOutputStream()) }
        runCatching { to.shutdownOutput() }
    }

    /** Takes the network away: no new connection, and the open ones are cut. */
    override fun close() {
        server.close()
        open.forEach { runCatching { it.close() } }
    }
}

/** What the driver sees when the authority cannot be reached. */
class OfflineTest {
    private val admin = Fixture.admin

    @Test
    fun `a pull to refresh without network keeps the stored pages and says why`() = runBlocking<Unit> {
        val number = Fixture.number()
        val driver = admin.createDriver(number, photoOnFile = Fixture.clean)
        val relay = Relay(admin.url)
        Fixture.wallet().use { wallet ->
            val session = WalletSession(wallet)
            val enrol = EnrolViewModel(session, relay.url)
            enrol.edit(licenceNumber = number, activationCode = admin.activationCode(driver))
            check(enrol.enrol())
            check(ApplyViewModel(session, Fixture.identity).apply())
            val main = MainPageViewModel(session)
            main.refresh()
            main.start()
            val before = main.state.value
            assertEquals(StatusColour.BLACK, before.colour)
            val synced = assertNotNull(before.lastSynced)

            relay.close()
            admin.setStatus(driver, "D")
            main.refresh()
            val after = main.state.value
            assertEquals(errorText(EdlException.Offline()), after.error)
            assertEquals("无法连接交管服务，已保存的内容仍可使用", after.error?.zh)
            assertFalse(after.refreshing)
            // The stored page, its colour and its sync time stay; the QR still rotates offline.
            assertEquals(number, after.page?.licenceNumber)
            assertEquals(StatusColour.BLACK, after.colour)
            assertEquals(synced, after.lastSynced)
            assertNotNull(after.code)
            Fixture.eventually("a QR made offline") { main.state.value.presentation != null }
            main.close()
            session.close()
        }
    }
}
