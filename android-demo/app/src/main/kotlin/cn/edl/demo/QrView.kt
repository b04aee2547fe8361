package cn.edl.demo

import android.content.Context
import android.graphics.Canvas
import android.graphics.Color
import android.graphics.Paint
import android.view.View
import cn.edl.wallet.Presentation

/** Draws a presentation's QR modules as they come from the core, with a 4-module quiet zone. */
class QrView(context: Context) : View(context) {
    private val dark = Paint().apply { color = Color.BLACK }
    private var width = 0
    private var modules: List<Boolean> = emptyList()

    fun show(presentation: Presentation) {
        width = presentation.qrWidth.toInt()
        modules = presentation.qrModules
        invalidate()
    }

    override fun onMeasure(widthMeasureSpec: Int, heightMeasureSpec: Int) {
        val side = MeasureSpec.getSize(widthMeasureSpec)
        setMeasuredDimension(side, side)
    }

    override fun onDraw(canvas: Canvas) {
        canvas.drawColor(Color.WHITE)
        if (width == 0) return
        val cell = getWidth().toFloat() / (width + 2 * QUIET)
        for (y in 0 until width) for (x in 0 until width) {
            if (!modules[y * width + x]) continue
            val left = (x + QUIET) * cell
            val top = (y + QUIET) * cell
            canvas.drawRect(left, top, left + cell, top + cell, dark)
        }
    }

    private companion object {
        const val QUIET = 4
    }
}
