"""A faithful imitation of every upstream: ITA Trade Leads, Canadian procurement, SAM Contract Awards, the CanadaBuys
feeds, SAM Contract Opportunities (search API and daily extract), Contracts Finder and Find a Tender (OCDS)."""
