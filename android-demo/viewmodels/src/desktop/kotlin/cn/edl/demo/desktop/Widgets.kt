package cn.edl.demo.desktop

import cn.edl.wallet.LocalizedText
import java.awt.BasicStroke
import java.awt.Color
import java.awt.Component
import java.awt.Dimension
import java.awt.Font
import java.awt.Graphics
import java.awt.Graphics2D
import java.awt.GraphicsEnvironment
import java.awt.Image
import java.awt.RenderingHints
import java.io.ByteArrayInputStream
import javax.imageio.ImageIO
import javax.swing.BorderFactory
import javax.swing.Box
import javax.swing.BoxLayout
import javax.swing.ImageIcon
import javax.swing.JButton
import javax.swing.JComponent
import javax.swing.JLabel
import javax.swing.JPanel
import javax.swing.JProgressBar
import javax.swing.JTextField

/** Small Swing building blocks for the demo's screens: a column of left-aligned rows. */
object Ui {
    /** The demo's font: Noto Sans CJK (Debian's fonts-noto-cjk) when installed, for the Chinese. */
    val family: String = GraphicsEnvironment.getLocalGraphicsEnvironment().availableFontFamilyNames
        .firstOrNull { it == "Noto Sans CJK SC" } ?: Font.DIALOG

    fun font(size: Int, bold: Boolean = false) = Font(family, if (bold) Font.BOLD else Font.PLAIN, size)

    val red = Color(0xC6, 0x28, 0x28)
    val grey = Color(0x60, 0x60, 0x60)
    val blue = Color(0x15, 0x65, 0xC0)
    const val WIDTH = 380

    private fun escape(s: String) = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    /** A column to add rows to. */
    fun column(): JPanel = JPanel().apply {
        layout = BoxLayout(this, BoxLayout.Y_AXIS)
        background = Color.WHITE
        border = BorderFactory.createEmptyBorder(12, 16, 12, 16)
    }

    /** A wrapped paragraph. */
    fun text(s: String, size: Int = 13, color: Color = Color.BLACK, bold: Boolean = false): JLabel =
        JLabel("<html><div style='width:${WIDTH - 70}px'>${escape(s).replace("\n", "<br>")}</div></html>").apply {
            font = font(size, bold)
            foreground = color
        }

    /** A text in both languages: Chinese, then English in grey. */
    fun bilingual(t: LocalizedText, size: Int = 13, color: Color = Color.BLACK): JComponent = column().apply {
        border = BorderFactory.createEmptyBorder()
        isOpaque = false
        add(left(text(t.zh, size, color)))
        add(left(text(t.en, size - 2, if (color == Color.BLACK) grey else color)))
    }

    /** A field label and its value on one row. */
    fun row(label: String, value: String, color: Color = Color.BLACK): JComponent =
        text("$label  $value", 13, color)

    fun title(zh: String, en: String): JComponent = column().apply {
        border = BorderFactory.createEmptyBorder(0, 0, 8, 0)
        isOpaque = false
        add(left(text(zh, 20, Color.BLACK, bold = true)))
        add(left(text(en, 12, grey)))
    }

    fun button(label: String, enabled: Boolean = true, onClick: () -> Unit): JButton =
        JButton(label).apply {
            font = font(13)
            isEnabled = enabled
            addActionListener { onClick() }
        }

    fun field(label: String, value: String, onChange: (String) -> Unit): JComponent = column().apply {
        border = BorderFactory.createEmptyBorder(2, 0, 2, 0)
        isOpaque = false
        add(left(text(label, 12, grey)))
        add(
            left(
                JTextField(value, 24).apply {
                    font = font(14)
                    maximumSize = Dimension(WIDTH, 30)
                    addActionListener { onChange(text) }
                    addFocusListener(object : java.awt.event.FocusAdapter() {
                        override fun focusLost(e: java.awt.event.FocusEvent) = onChange(text)
                    })
                },
            ),
        )
    }

    fun bar(fraction: Float, color: Color? = null): JProgressBar = JProgressBar(0, 1000).apply {
        value = (fraction * 1000).toInt()
        color?.let { foreground = it }
        maximumSize = Dimension(WIDTH, 14)
        preferredSize = Dimension(WIDTH, 14)
    }

    fun image(jpeg: ByteArray, width: Int): JLabel {
        val img = ImageIO.read(ByteArrayInputStream(jpeg)) ?: return JLabel()
        val height = img.height * width / img.width
        return JLabel(ImageIcon(img.getScaledInstance(width, height, Image.SCALE_SMOOTH)))
    }

    fun gap(px: Int = 8): Component = Box.createVerticalStrut(px)

    fun <T : JComponent> left(c: T): T = c.apply { alignmentX = Component.LEFT_ALIGNMENT }

    /** Rows side by side. */
    fun line(vararg items: JComponent): JComponent = object : JPanel() {
        // BoxLayout would stretch a row to share the column's spare height.
        override fun getMaximumSize() = Dimension(Int.MAX_VALUE, preferredSize.height)
    }.apply {
        layout = BoxLayout(this, BoxLayout.X_AXIS)
        isOpaque = false
        items.forEachIndexed { i, c ->
            if (i > 0) add(Box.createHorizontalStrut(8))
            c.alignmentY = Component.TOP_ALIGNMENT
            add(c)
        }
        add(Box.createHorizontalGlue())
    }
}

/** Draws a square of QR modules as the core hands them, with a 4-module quiet zone. */
class QrCanvas(private val width: Int, private val modules: List<Boolean>, side: Int) : JComponent() {
    init {
        preferredSize = Dimension(side, side)
        maximumSize = preferredSize
        minimumSize = preferredSize
    }

    override fun paintComponent(g: Graphics) {
        g.color = Color.WHITE
        g.fillRect(0, 0, getWidth(), height)
        if (width == 0) return
        val cell = getWidth().toDouble() / (width + 8)
        g.color = Color.BLACK
        for (y in 0 until width) for (x in 0 until width) {
            if (!modules[y * width + x]) continue
            val x0 = ((x + 4) * cell).toInt()
            val y0 = ((y + 4) * cell).toInt()
            g.fillRect(x0, y0, ((x + 5) * cell).toInt() - x0, ((y + 5) * cell).toInt() - y0)
        }
    }
}

/** Draws a 1-D barcode's modules (true is a bar) as the core hands them. */
class BarcodeCanvas(private val modules: List<Boolean>, w: Int, h: Int) : JComponent() {
    init {
        preferredSize = Dimension(w, h)
        maximumSize = preferredSize
        minimumSize = preferredSize
    }

    override fun paintComponent(g: Graphics) {
        g.color = Color.WHITE
        g.fillRect(0, 0, width, height)
        if (modules.isEmpty()) return
        val unit = width.toDouble() / (modules.size + 20)
        g.color = Color.BLACK
        modules.forEachIndexed { i, bar ->
            if (!bar) return@forEachIndexed
            val x0 = ((i + 10) * unit).toInt()
            g.fillRect(x0, 0, maxOf(1, ((i + 11) * unit).toInt() - x0), height)
        }
    }
}

/** A thin rule between sections. */
class Rule : JComponent() {
    init {
        preferredSize = Dimension(Ui.WIDTH, 9)
        maximumSize = Dimension(Int.MAX_VALUE, 9)
        alignmentX = Component.LEFT_ALIGNMENT
    }

    override fun paintComponent(g: Graphics) {
        (g as Graphics2D).setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON)
        g.color = Color(0xDD, 0xDD, 0xDD)
        g.stroke = BasicStroke(1f)
        g.drawLine(0, 4, width, 4)
    }
}
