"""A faithful imitation of the three upstreams: ITA Trade Leads, Canadian procurement, SAM Contract Awards."""
