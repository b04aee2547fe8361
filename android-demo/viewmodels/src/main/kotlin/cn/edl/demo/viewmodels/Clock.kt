package cn.edl.demo.viewmodels

import java.text.SimpleDateFormat
import java.util.Date
import java.util.Locale
import java.util.TimeZone

/**
 * Times as the screens print them. The licence's dates and the review deadline are Beijing
 * dates (the core computes the deadline in Beijing time), so times are shown in Beijing time
 * whatever the phone's zone. `SimpleDateFormat`, not java.time, so Android API 24 needs no
 * desugaring.
 */
object Clock {
    private fun format(pattern: String, unix: ULong): String =
        SimpleDateFormat(pattern, Locale.ROOT)
            .apply { timeZone = TimeZone.getTimeZone("Asia/Shanghai") }
            .format(Date(unix.toLong() * 1000))

    /** "2026-12-04 18:00" (Beijing time). */
    fun dateTime(unix: ULong): String = format("yyyy-MM-dd HH:mm", unix)

    /** "18:00:05" (Beijing time), for the last-synced line. */
    fun time(unix: ULong): String = format("HH:mm:ss", unix)

    /** A countdown's seconds as "0:27". */
    fun countdown(seconds: Int): String = "%d:%02d".format(seconds / 60, seconds % 60)
}
