/* ical-lazy: libical through lazylib.h, opened the first time a named time zone or an RRULE
 * is used (UTC needs no libical: schedule.c). Include after <libical/ical.h>: the names below
 * then call through the loaded library. */
#pragma once

#include <libical/ical.h>

#include "lazylib.h"

#ifndef COCO_LIBICAL_SO
#define COCO_LIBICAL_SO "libical.so.3"
#endif

#define ICAL_FUNCS(X)                                                                              \
	X(icalerror_clear_errno)                                                                   \
	X(icalerrno_return)                                                                        \
	X(icalrecur_iterator_free)                                                                 \
	X(icalrecur_iterator_new)                                                                  \
	X(icalrecur_iterator_next)                                                                 \
	X(icalrecurrencetype_from_string)                                                          \
	X(icaltime_is_null_time)                                                                   \
	X(icaltime_is_utc)                                                                         \
	X(icaltime_null_time)                                                                      \
	X(icaltimezone_get_builtin_timezone)                                                       \
	X(icaltimezone_get_tznames)                                                                \
	X(icaltimezone_get_utc_offset_of_utc_time)                                                 \
	X(icaltimezone_get_utc_timezone)

LAZYLIB_DECLARE(ical, ICAL_FUNCS)

#define icalerror_clear_errno (ical_lib()->icalerror_clear_errno)
#define icalerrno_return (ical_lib()->icalerrno_return)
#define icalrecur_iterator_free (ical_lib()->icalrecur_iterator_free)
#define icalrecur_iterator_new (ical_lib()->icalrecur_iterator_new)
#define icalrecur_iterator_next (ical_lib()->icalrecur_iterator_next)
#define icalrecurrencetype_from_string (ical_lib()->icalrecurrencetype_from_string)
#define icaltime_is_null_time (ical_lib()->icaltime_is_null_time)
#define icaltime_is_utc (ical_lib()->icaltime_is_utc)
#define icaltime_null_time (ical_lib()->icaltime_null_time)
#define icaltimezone_get_builtin_timezone (ical_lib()->icaltimezone_get_builtin_timezone)
#define icaltimezone_get_tznames (ical_lib()->icaltimezone_get_tznames)
#define icaltimezone_get_utc_offset_of_utc_time (ical_lib()->icaltimezone_get_utc_offset_of_utc_time)
#define icaltimezone_get_utc_timezone (ical_lib()->icaltimezone_get_utc_timezone)
