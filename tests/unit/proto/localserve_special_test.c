/* Special localparts of localserve: classification and exact reply texts (localserve.md §5). */
#include "check.h"

#include "proto/localserve_special.h"

static struct localserve_special parse(const char *lp, enum localserve_role role, bool *hit)
{
	struct localserve_special s;
	*hit = localserve_special_parse(lp, strlen(lp), role, &s);
	return s;
}

TEST(suffixes)
{
	bool hit;
	struct localserve_special s = parse("user-temperror", LOCALSERVE_RCPT, &hit);
	CHECK(hit);
	CHECK_INT(s.outcome, LOCALSERVE_CODE);
	CHECK_INT(s.code, 451);
	CHECK_INT(s.stage, LOCALSERVE_AT_DATA);
	s = parse("user-permerror", LOCALSERVE_RCPT, &hit);
	CHECK_INT(s.code, 550);
	s = parse("xTimeOut", LOCALSERVE_RCPT, &hit);
	CHECK(hit);
	CHECK_INT(s.outcome, LOCALSERVE_TIMEOUT);
	CHECK_INT(s.code, 451);
	s = parse("user552", LOCALSERVE_RCPT, &hit);
	CHECK_INT(s.code, 552);
	s = parse("400", LOCALSERVE_RCPT, &hit);
	CHECK(hit);
	CHECK_INT(s.code, 400);
	s = parse("a600", LOCALSERVE_RCPT, &hit);
	CHECK_INT(s.code, 600);
	/* out of range, too short, or not at the end */
	parse("user399", LOCALSERVE_RCPT, &hit);
	CHECK(!hit);
	parse("user601", LOCALSERVE_RCPT, &hit);
	CHECK(!hit);
	parse("u55", LOCALSERVE_RCPT, &hit);
	CHECK(!hit);
	parse("temperror-x", LOCALSERVE_RCPT, &hit);
	CHECK(!hit);
	parse("tern", LOCALSERVE_RCPT, &hit);
	CHECK(!hit);
	parse("", LOCALSERVE_RCPT, &hit);
	CHECK(!hit);
}

TEST(order_of_suffix_checks)
{
	/* Only the very end counts: "permerror451" ends in a code, and
	 * "timeouttemperror" ends in temperror. */
	bool hit;
	struct localserve_special s = parse("permerror451", LOCALSERVE_RCPT, &hit);
	CHECK_INT(s.code, 451);
	CHECK_INT(s.outcome, LOCALSERVE_CODE);
	s = parse("timeouttemperror", LOCALSERVE_RCPT, &hit);
	CHECK_INT(s.outcome, LOCALSERVE_CODE);
	CHECK_INT(s.code, 451);
}

TEST(stages)
{
	bool hit;
	struct localserve_special s = parse("mailfromtemperror", LOCALSERVE_MAILFROM, &hit);
	CHECK(hit);
	CHECK_INT(s.stage, LOCALSERVE_AT_MAIL);
	/* A MAIL FROM address counts only with the mailfrom prefix. */
	parse("user-permerror", LOCALSERVE_MAILFROM, &hit);
	CHECK(!hit);
	s = parse("rcptto550", LOCALSERVE_RCPT, &hit);
	CHECK_INT(s.stage, LOCALSERVE_AT_RCPT);
	CHECK_INT(s.code, 550);
	s = parse("RcptToTimeout", LOCALSERVE_RCPT, &hit);
	CHECK_INT(s.stage, LOCALSERVE_AT_RCPT);
	/* As a recipient, a mailfrom prefix is "anything else": end of data. */
	s = parse("mailfrom451", LOCALSERVE_RCPT, &hit);
	CHECK_INT(s.stage, LOCALSERVE_AT_DATA);
}

TEST(reply_texts)
{
	char text[LOCALSERVE_SPECIAL_TEXT_MAX];
	struct localserve_special s = {LOCALSERVE_CODE, LOCALSERVE_AT_DATA, 552};
	CHECK_INT(localserve_special_reply(&s, LOCALSERVE_REPLY_DELIVERY, text), 552);
	CHECK_STR(text, "5.0.0 failure with code 552 due to special localpart");
	s.code = 451;
	CHECK_INT(localserve_special_reply(&s, LOCALSERVE_REPLY_COMMAND, text), 451);
	CHECK_STR(text, "4.0.0 failure with code 451 due to special localpart");
	s.code = 600;
	CHECK_INT(localserve_special_reply(&s, LOCALSERVE_REPLY_SUBMISSION, text), 600);
	CHECK_STR(text, "6.0.0 failure with code 600 due to special localpart");
	s = (struct localserve_special){LOCALSERVE_TIMEOUT, LOCALSERVE_AT_RCPT, 451};
	CHECK_INT(localserve_special_reply(&s, LOCALSERVE_REPLY_COMMAND, text), 451);
	CHECK_STR(text, "4.3.0 timing out command due to special localpart");
	CHECK_INT(localserve_special_reply(&s, LOCALSERVE_REPLY_SUBMISSION, text), 451);
	CHECK_STR(text, "4.3.0 timing out submission due to special localpart");
	CHECK_INT(localserve_special_reply(&s, LOCALSERVE_REPLY_DELIVERY, text), 451);
	CHECK_STR(text, "4.0.0 timing out delivery due to special localpart");
	s = (struct localserve_special){0};
	CHECK_INT(localserve_special_reply(&s, LOCALSERVE_REPLY_DELIVERY, text), 0);
	CHECK_STR(text, "");
}

TEST_MAIN()
