"""The SAM Contract Awards API's own error bodies (doc "HTTP Response Codes"), raised as SamError by request parsing.

Bodies are `{"message": ..., "detail": ...}`; the extract-in-progress one says `details`, as documented. Messages
marked "not documented" cover inputs the doc does not describe; they keep the same shape.
"""

from __future__ import annotations

from collections.abc import Mapping

ALLOWED_PARAMETERS_DETAIL = (
    "Please refer to https://open.gsa.gov/api/contract-awards/ for a list of allowable search parameters."
)


class SamError(Exception):
    def __init__(self, status: int, body: Mapping[str, str]) -> None:
        super().__init__(body.get("message", ""))
        self.status = status
        self.body = dict(body)


def bad_request(message: str, detail: str | None = None, *, detail_key: str = "detail") -> SamError:
    return SamError(400, {"message": message} if detail is None else {"message": message, detail_key: detail})


def forbidden(message: str) -> SamError:
    return SamError(403, {"message": message})


MISSING_KEY = "No API Key was supplied. Please submit with a valid API key."
INVALID_KEY = "An invalid API key was supplied. Please submit with a valid API key."
DISABLED_KEY = "The API key supplied has been disabled. Please submit with a valid API key."


def bad_date() -> SamError:
    return bad_request(
        "Dates must be specified in the MM/DD/YYYY or [MM/DD/YYYY,MM/DD/YYYY] format.",
        "Any Date parameter must be provided in the MM/DD/YYYY or [MM/DD/YYYY,MM/DD/YYYY] format.",
    )


def bad_dollars() -> SamError:
    return bad_request(
        "Dollars must be specified in a numeric format excluding commas or in the range format contained within "
        "brackets with a comma separating the lower range and upper range [Lower Range,Upper Range].",
        "Any Dollar parameter must be provided in the numeric format excluding commas or [Lower Range,Upper Range] "
        "format.",
    )


def unknown_parameter(name: str) -> SamError:
    return bad_request(f"The search parameter, {name} does not exist.", ALLOWED_PARAMETERS_DETAIL)


def reserved_inside_q() -> SamError:
    return bad_request(
        "The search parameters 'includeSections','emailId', 'piidaggregation', and 'format' are not "
        "permitted inside Query Param(q)",
        "Please provide these parameters separately",
    )


def too_many(plural: str) -> SamError:
    return bad_request(f"More than 100 {plural} are not allowed.", f"Please limit the number of {plural} to 100.")


def email_without_format() -> SamError:
    return bad_request(
        "The search parameter 'emailId' must be provided in conjunction with the search parameter 'format'.",
        "Users can opt for receiving the requested JSON/CSV files in their emails.",
    )


def aggregation_without_piid() -> SamError:
    return bad_request(
        "The search parameter 'piidaggregation' must be provided in conjunction with the search parameter 'piid'.",
        "The 'piidaggregation' parameter cannot be provided on its own.",
    )


def aggregation_piid_not_unique() -> SamError:
    return bad_request(
        "The search parameter 'piidaggregation' must be provided in conjunction with the search "
        "parameters 'piid' and 'referencedIdvPiid' when the 'piid' is not unique.",
        "The 'piidaggregation' parameter must return a unique record.",
    )


def extract_too_large(total: int) -> SamError:
    return bad_request(
        f"Total Number of Records: {total} exceeded the maximum allowable limit: 1,000,000. Please "
        "provide a suitable search parameter to refine your search.",
        "Count Exceeded Error",
    )


def extract_not_ready() -> SamError:
    return bad_request(
        "The requested JSON or CSV file is not generated yet. Please try again later.",
        "Larger files will take some time to process.",
        detail_key="details",
    )


def extract_token_expired() -> SamError:
    return bad_request("The requested JSON or CSV file token is expired.", "Please verify the token number.")


def limit_too_large() -> SamError:
    return bad_request(
        "The max value allowed for parameter 'limit' is 100.",
        "Please provide a value equal to or less than 100 for the query parameter 'limit'.",
    )


def paging_too_deep() -> SamError:
    return bad_request(
        "You may only page through the first 400,000 records. Any request where 'offset' x 'limit' "
        "is greater than 400,000 will be rejected.",
        "Please provide values equal to or less than 400,000 for the query parameters 'offset' x 'limit'.",
    )


def not_a_number(name: str) -> SamError:
    """Not documented: a non-numeric or negative limit/offset."""
    return bad_request(
        f"The value provided for parameter '{name}' must be a non-negative number.",
        f"Please provide a numeric value for the query parameter '{name}'.",
    )


def forbidden_characters(name: str) -> SamError:
    """Not documented beyond 'the characters & | { } ^ \\ are not allowed in parameter values'."""
    return bad_request(
        f"The value of parameter '{name}' contains characters that are not allowed: & | {{ }} ^ \\",
        "Please remove these characters from the parameter values.",
    )


def unknown_section(name: str) -> SamError:
    """Not documented: an includeSections value that is no section."""
    return bad_request(
        f"The section, {name} does not exist.",
        "Applicable sections are contractId, coreData, awardDetails, awardeeData and nasaSpecific.",
    )


def bad_format(value: str) -> SamError:
    """Not documented: a format other than JSON or CSV."""
    return bad_request(f"The format, {value} is not supported.", "Please provide format=JSON or format=CSV.")
